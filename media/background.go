package media

// backgroundNice is how many nice(2) steps below the process's own CPU
// priority a team copy runs (at most to 19, the lowest). Under Linux's
// scheduler (CFS weights, sched(7)) a thread at nice +10 gets about a
// tenth of the CPU time of a nice-0 thread while both want a core. So
// when the machine is short of CPU (a storm of phone photos), what a
// field worker waits for comes first: the upload, the commit, the case
// number, and the database, S3 and XMPP server beside fieldgate. Team
// copies take what is left, which is all of it when nothing else runs.
const backgroundNice = 10

// inBackground runs fn, CPU-bound work nobody waits for at once, on an
// operating-system thread of its own whose priority is lowered by
// backgroundNice (lowerThreadPriority). The goroutine stays locked to
// that thread and ends with fn, and a goroutine that exits locked takes
// its thread with it (runtime.LockOSThread), so no other goroutine ever
// runs at the lowered priority; raising it back would need CAP_SYS_NICE,
// which the service does not have. If the priority cannot be lowered, fn
// runs at the normal one. A panic in fn is raised again in the caller.
func inBackground(fn func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		lockThread()
		lowerThreadPriority(backgroundNice)
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}
