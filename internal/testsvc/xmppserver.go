package testsvc

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// exclusiveXMPP is set while this process holds the XMPP server exclusively.
var exclusiveXMPP atomic.Bool

// sharedXMPP takes a shared lock on the XMPP server for the test's
// lifetime, so that RestartXMPP in another package waits until no test
// uses it.
func sharedXMPP(t testing.TB) {
	t.Helper()
	if exclusiveXMPP.Load() {
		return
	}
	lockXMPP(t, syscall.LOCK_SH)
}

func lockXMPP(t testing.TB, how int) {
	t.Helper()
	dir := os.Getenv("FIELDGATE_TEST_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(filepath.Join(dir, "locks"), 0o777); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	// One lock for either server: only one of them is tested at a time.
	f, err := os.OpenFile(filepath.Join(dir, "locks", "xmpp-server"), os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("testsvc: lock the xmpp server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// ExclusiveXMPP takes the test XMPP server for this test alone: tests in
// other packages that use XMPP wait until it ends. Call it first in a test
// that restarts the server, before anything calls XMPP(t).
func ExclusiveXMPP(t testing.TB) {
	t.Helper()
	env(t, "FIELDGATE_TEST_DIR")
	lockXMPP(t, syscall.LOCK_EX)
	exclusiveXMPP.Store(true)
	t.Cleanup(func() { exclusiveXMPP.Store(false) })
}

// RestartXMPP stops the test XMPP server (Prosody or ejabberd), runs
// whileDown, and starts it again with the same configuration and data,
// waiting until it accepts clients and components. The test must hold
// ExclusiveXMPP.
func RestartXMPP(t testing.TB, whileDown func()) {
	t.Helper()
	RestartXMPPWith(t, syscall.SIGTERM, whileDown)
}

// RestartXMPPWith is RestartXMPP stopping the server with sig (SIGKILL:
// a crash, no stream close sent to anyone).
func RestartXMPPWith(t testing.TB, sig syscall.Signal, whileDown func()) {
	t.Helper()
	if !exclusiveXMPP.Load() {
		t.Fatal("testsvc: RestartXMPP needs ExclusiveXMPP(t) at the start of the test")
	}
	dir := env(t, "FIELDGATE_TEST_DIR")[0]
	xenv := XMPP(t)
	pidFile := filepath.Join(dir, "run", "prosody.pid")
	if xenv.Server == Ejabberd {
		pidFile = filepath.Join(dir, "ejabberd", "ejabberd.pid")
	}
	pid := readPid(t, pidFile)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("testsvc: stop %s: %v", xenv.Server, err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i > 200 {
			t.Fatalf("testsvc: %s did not stop within 20s", xenv.Server)
		}
		time.Sleep(100 * time.Millisecond)
	}
	whileDown()
	switch xenv.Server {
	case Ejabberd:
		resumeEjabberd(t, dir)
	default:
		startProsody(t, dir, pidFile)
	}
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
			t.Fatalf("testsvc: %s did not come back within 30s: %v %v", xenv.Server, err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readPid(t testing.TB, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("testsvc: pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("testsvc: pid in %s: %v", file, err)
	}
	return pid
}

// startProsody starts Prosody again as deploy/dev/services did.
func startProsody(t testing.TB, dir, pidFile string) {
	t.Helper()
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
}

// resumeEjabberd starts ejabberd again with `deploy/dev/ejabberd resume`,
// on the port offset its start was given (FIELDGATE_TEST_EJABBERD_OFFSET).
func resumeEjabberd(t testing.TB, dir string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "dev", "ejabberd")
	// Output goes to a file, not a pipe: the Erlang node it starts keeps
	// its inherited descriptors open, and reading a pipe would never end.
	out, err := os.CreateTemp(t.TempDir(), "resume-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(script, "resume", dir)
	cmd.Env = append(os.Environ(), "FIELDGATE_TEST_PORT_OFFSET="+os.Getenv("FIELDGATE_TEST_EJABBERD_OFFSET"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("testsvc: resume ejabberd: %v\n%s", err, b)
	}
}
