package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 per second for user space (proc(5)).
const clockTick = 10 * time.Millisecond

// ProcessCPU returns the CPU time (user + system) the process pid has used
// so far, from /proc/PID/stat (fields 14 and 15, proc(5)), in steps of
// 10 ms. It fails where there is no /proc (not Linux) or no such process.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: CPU time of process %d: %w", pid, err)
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime from one /proc/PID/stat line. The
// command name (field 2) is in parentheses and may itself contain spaces
// and parentheses, so the fields are counted from its last ')'.
func parseProcStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: /proc stat line without a command name")
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state), so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat line with %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: /proc stat CPU time %q: not a tick count", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// Watched is a process whose CPU time the bench splits by phase: Name as
// printed (prosody, postgres), PID the root of its process tree.
type Watched struct {
	Name string
	PID  int
}

// CPUUse is what one watched process tree used per operation in each phase
// of a load, in CPU milliseconds.
type CPUUse struct {
	Name        string  `json:"name"`
	FloorMs     float64 `json:"floor_ms_per_op"`
	FieldgateMs float64 `json:"fieldgate_ms_per_op"`
}

// procStat is one process's parent and CPU time in /proc/PID/stat: its own
// (utime+stime) and that of its children it has reaped (cutime+cstime).
type procStat struct {
	ppid      int
	own, dead time.Duration
}

// parseProcTimes reads ppid (field 4) and the four CPU times (14-17).
func parseProcTimes(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("bench: /proc stat line without a command name")
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("bench: /proc stat line with %d fields after the command name, want at least 15", len(f))
	}
	var n [5]int64
	for k, s := range []string{f[1], f[11], f[12], f[13], f[14]} {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return procStat{}, fmt.Errorf("bench: /proc stat field %q: not a number", s)
		}
		n[k] = v
	}
	return procStat{ppid: int(n[0]), own: time.Duration(n[1]+n[2]) * clockTick, dead: time.Duration(n[3]+n[4]) * clockTick}, nil
}

// treeCPU returns, for each root, the CPU time its process tree has used:
// every live process under it (itself included) with the children each
// has reaped, so a PostgreSQL backend that exits between two calls still
// counts (in its parent's reaped time). Processes that cannot be read are
// left out, and so is a root that is gone.
func treeCPU(roots []int) (map[int]time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("bench: process CPU times: %w", err)
	}
	procs := map[int]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if st, err := parseProcTimes(string(b)); err == nil {
			procs[pid] = st
		}
	}
	return sumTrees(procs, roots), nil
}

// sumTrees adds up the CPU time of each root's tree in procs; roots not
// in procs are not in the result.
func sumTrees(procs map[int]procStat, roots []int) map[int]time.Duration {
	out := make(map[int]time.Duration, len(roots))
	for _, r := range roots {
		if _, ok := procs[r]; ok {
			out[r] = 0
		}
	}
	for pid, st := range procs {
		// Walk up to a root (or the top); depth bounded against loops.
		for p, depth := pid, 0; p > 0 && depth < 64; depth++ {
			if _, ok := out[p]; ok {
				out[p] += st.own + st.dead
				break
			}
			parent, ok := procs[p]
			if !ok {
				break
			}
			p = parent.ppid
		}
	}
	return out
}

// ParseWatched reads NAME=PID ("prosody=759"); PID "self" is this process.
func ParseWatched(spec string) (Watched, error) {
	name, p, ok := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " ,/") {
		return Watched{}, fmt.Errorf("bench: watched process %q: want NAME=PID", spec)
	}
	if p == "self" {
		return Watched{Name: name, PID: os.Getpid()}, nil
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return Watched{}, fmt.Errorf("bench: watched process %q: %q is not a process id", spec, p)
	}
	return Watched{Name: name, PID: pid}, nil
}
