package bench

import (
	"os"
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
