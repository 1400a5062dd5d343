package testsvc

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// exclusiveProsody is set while this process holds Prosody exclusively.
var exclusiveProsody atomic.Bool

// sharedProsody takes a shared lock on Prosody for the test's lifetime, so
// that RestartProsody in another package waits until no test uses it.
func sharedProsody(t testing.TB) {
	t.Helper()
	if exclusiveProsody.Load() {
		return
	}
	lockProsody(t, syscall.LOCK_SH)
}

func lockProsody(t testing.TB, how int) {
	t.Helper()
	dir := os.Getenv("FIELDGATE_TEST_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(filepath.Join(dir, "locks"), 0o777); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "locks", "prosody"), os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("testsvc: lock prosody: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// ExclusiveProsody takes the test Prosody for this test alone: tests in
// other packages that use XMPP wait until it ends. Call it first in a test
// that restarts Prosody, before anything calls XMPP(t).
func ExclusiveProsody(t testing.TB) {
	t.Helper()
	env(t, "FIELDGATE_TEST_DIR")
	lockProsody(t, syscall.LOCK_EX)
	exclusiveProsody.Store(true)
	t.Cleanup(func() { exclusiveProsody.Store(false) })
}

// RestartProsody stops the test Prosody, runs whileDown, and starts it
// again with the same configuration, waiting until it accepts clients.
// The test must hold ExclusiveProsody.
func RestartProsody(t testing.TB, whileDown func()) {
	t.Helper()
	RestartProsodyWith(t, syscall.SIGTERM, whileDown)
}

// RestartProsodyWith is RestartProsody stopping Prosody with sig
// (SIGKILL: a crash, no stream close sent to anyone).
func RestartProsodyWith(t testing.TB, sig syscall.Signal, whileDown func()) {
	t.Helper()
	if !exclusiveProsody.Load() {
		t.Fatal("testsvc: RestartProsody needs ExclusiveProsody(t) at the start of the test")
	}
	dir := env(t, "FIELDGATE_TEST_DIR")[0]
	xenv := XMPP(t)
	pidFile := filepath.Join(dir, "run", "prosody.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("testsvc: prosody pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("testsvc: prosody pid: %v", err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("testsvc: stop prosody: %v", err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i > 200 {
			t.Fatal("testsvc: prosody did not stop within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	whileDown()

	logf, err := os.OpenFile(filepath.Join(dir, "log", "prosody.console.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("prosody", "-F", "--config", filepath.Join(dir, "prosody", "prosody.cfg.lua"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testsvc: start prosody: %v", err)
	}
	// deploy/dev/services stop finds it by its command line and pid file.
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c1, err1 := net.DialTimeout("tcp", xenv.C2S, time.Second)
		c2, err2 := net.DialTimeout("tcp", xenv.ComponentAddr, time.Second)
		if err1 == nil {
			c1.Close()
		}
		if err2 == nil {
			c2.Close()
		}
		if err1 == nil && err2 == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testsvc: prosody did not come back within 30s: %v %v", err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
