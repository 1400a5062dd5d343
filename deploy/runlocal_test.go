package deploy_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runLocal runs deploy/run-local with its data under dir and returns its
// combined output and exit code. It must end by itself quickly: in these
// tests it refuses to start.
func runLocal(t *testing.T, dir string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("./run-local")
	cmd.Env = append(os.Environ(), append([]string{"FIELDGATE_RUN_DIR=" + dir}, env...)...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("run-local did not return within 30s: it started instead of refusing")
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// assertUntouched fails if run-local started anything under dir.
func assertUntouched(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"env", "log", "run", "pg", "demo-token"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("run-local created %s: it started services", f)
		}
	}
}

// TestRunLocalSecondStartLeavesTheFirstAlone holds the lock a running
// `make run` holds and starts another: it must say so, exit non-zero, and
// neither start nor stop anything (no banner either).
func TestRunLocalSecondStartLeavesTheFirstAlone(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, "run-local.lock"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	info := "pid 4242, API http://127.0.0.1:8080, started 2026-11-30T00:00:00Z"
	if err := os.WriteFile(filepath.Join(dir, "run-local.info"), []byte(info+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runLocal(t, dir)
	if code == 0 {
		t.Errorf("second start exited 0:\n%s", out)
	}
	if !strings.Contains(out, "already running") || !strings.Contains(out, info) {
		t.Errorf("second start does not say the first runs (and where):\n%s", out)
	}
	if strings.Contains(out, "demo town is starting") {
		t.Errorf("second start printed the banner:\n%s", out)
	}
	assertUntouched(t, dir)
	if b, _ := os.ReadFile(filepath.Join(dir, "run-local.info")); strings.TrimSpace(string(b)) != info {
		t.Errorf("second start overwrote the first one's info: %q", b)
	}
}

// TestRunLocalBusyPortStartsNothing: another program on the API address
// is reported before any service starts.
func TestRunLocalBusyPortStartsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	out, code := runLocal(t, dir, "FIELDGATE_HTTP_ADDR="+ln.Addr().String())
	if code == 0 || !strings.Contains(out, ln.Addr().String()+" is in use") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	assertUntouched(t, dir)
}
