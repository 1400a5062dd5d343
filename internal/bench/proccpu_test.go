package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and a ')' of its own, as a process may set it.
	line := "759 (lua5.4 (x) y) S 1 759 759 0 -1 4194560 12052 0 0 0 1234 56 0 0 20 0 1 0 123 45678 2468 18446744073709551615\n"
	got, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := (1234 + 56) * 10 * time.Millisecond; got != want {
		t.Errorf("parseProcStat = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "759 lua5.4 S 1", "759 (x) S 1 2 3", "759 (x) S 1 759 759 0 -1 4194560 12052 0 0 0 12a4 56 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

var spin int

func TestProcessCPUOfItself(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the counter has moved by two ticks (10 ms each); a loaded
	// machine only makes this take longer.
	for deadline := time.Now().Add(10 * time.Second); ; {
		after, err := ProcessCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after-before >= 20*time.Millisecond {
			break
		}
		if after < before || time.Now().After(deadline) {
			t.Fatalf("CPU time went from %v to %v while spinning", before, after)
		}
		for x := 0; x < 1e6; x++ {
			spin += x
		}
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("ProcessCPU(-1) succeeded")
	}
}

func TestSumTrees(t *testing.T) {
	ms := time.Millisecond
	procs := map[int]procStat{
		1:   {ppid: 0, own: 1000 * ms},              // init: not watched
		100: {ppid: 1, own: 50 * ms, dead: 70 * ms}, // postmaster, reaped backends 70 ms
		101: {ppid: 100, own: 200 * ms},             // backend
		102: {ppid: 101, own: 5 * ms},               // a grandchild
		200: {ppid: 1, own: 30 * ms},                // prosody
		300: {ppid: 1, own: 999 * ms},               // someone else
	}
	got := sumTrees(procs, []int{100, 200, 4242})
	if got[100] != 325*ms || got[200] != 30*ms || len(got) != 2 {
		t.Errorf("sumTrees = %v, want 100: 325ms, 200: 30ms and nothing for the process that is gone", got)
	}
	// A parent loop (cannot happen in /proc, but must not hang).
	loop := map[int]procStat{7: {ppid: 8, own: ms}, 8: {ppid: 7, own: ms}, 9: {ppid: 0, own: ms}}
	if got := sumTrees(loop, []int{9}); got[9] != ms {
		t.Errorf("with a parent loop: %v", got)
	}
}

func TestParseProcTimes(t *testing.T) {
	st, err := parseProcTimes("4242 (postgres: x (y)) S 100 4242 4242 0 -1 4194560 1 0 0 0 30 20 7 3 20 0 1 0 123 45678 2468\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 100 || st.own != 500*time.Millisecond || st.dead != 100*time.Millisecond {
		t.Errorf("parseProcTimes = %+v", st)
	}
	if _, err := parseProcTimes("4242 (x) S 100 1 2 3 4 5 6 7 8 9 10 -11 12 13"); err == nil {
		t.Error("a negative time was accepted")
	}
}

func TestTreeCPUOfItself(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	pid := os.Getpid()
	own, err := ProcessCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := treeCPU([]int{pid})
	if err != nil {
		t.Fatal(err)
	}
	// Read later and with the reaped children: never less.
	if tree[pid] < own {
		t.Errorf("tree %v < own %v read before", tree[pid], own)
	}
	if got, err := treeCPU([]int{-5}); err != nil || len(got) != 0 {
		t.Errorf("treeCPU of no process = %v, %v; want nothing", got, err)
	}
}

func TestParseWatched(t *testing.T) {
	w, err := ParseWatched("prosody=759")
	if err != nil || w != (Watched{"prosody", 759}) {
		t.Errorf("ParseWatched = %+v, %v", w, err)
	}
	if w, err := ParseWatched("bench=self"); err != nil || w.PID != os.Getpid() {
		t.Errorf("ParseWatched(self) = %+v, %v", w, err)
	}
	for _, bad := range []string{"", "759", "=759", "prosody=", "prosody=-1", "prosody=0", "prosody=x", "a b=1"} {
		if _, err := ParseWatched(bad); err == nil {
			t.Errorf("ParseWatched(%q) accepted", bad)
		}
	}
}

func TestCPUPerOp(t *testing.T) {
	ms := time.Millisecond
	watch := []Watched{{"prosody", 10}, {"postgres", 20}}
	before := map[int]time.Duration{10: 100 * ms, 20: 0}
	between := map[int]time.Duration{10: 400 * ms, 20: 150 * ms}
	after := map[int]time.Duration{10: 1000 * ms, 20: 1350 * ms}
	got := cpuPerOp(watch, before, between, after, 300, 200)
	want := []CPUUse{{"prosody", 1, 3}, {"postgres", 0.5, 6}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("cpuPerOp = %+v, want %+v", got, want)
	}
	if got := cpuPerOp(nil, nil, nil, nil, 1, 1); got != nil {
		t.Errorf("without watched processes: %+v", got)
	}
	if got := cpuPerOp(watch, before, between, after, 0, 0); got[0].FloorMs != 0 || got[0].FieldgateMs != 0 {
		t.Errorf("without operations: %+v", got)
	}
	delete(between, 20) // postgres restarted during the load
	if got := cpuPerOp(watch, before, between, after, 300, 200); len(got) != 1 || got[0] != want[0] {
		t.Errorf("with a process gone for a reading: %+v, want only %+v", got, want[0])
	}
	var buf bytes.Buffer
	WriteTable(&buf, []Result{{Load: "text", Mode: "http", Count: 1, Concurrency: 1, CPU: got[:1]}})
	if !strings.Contains(buf.String(), "CPU-ms per operation, floor / fieldgate: prosody 1.00 / 3.00") {
		t.Errorf("table without the CPU line:\n%s", buf.String())
	}
}
