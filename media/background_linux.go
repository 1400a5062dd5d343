package media

import (
	"runtime"

	"golang.org/x/sys/unix"
)

func lockThread() { runtime.LockOSThread() }

// lowerThreadPriority adds by nice steps to the calling thread's nice
// value (Linux keeps one per thread: setpriority(2) with PRIO_PROCESS and
// a thread id). The raw getpriority system call returns 20 - nice.
func lowerThreadPriority(by int) {
	tid := unix.Gettid()
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	if nice := 20 - raw; nice < 19 {
		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, min(19, nice+by))
	}
}

// threadNice is the calling thread's nice value (tests).
func threadNice() (int, error) {
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	return 20 - raw, err
}
