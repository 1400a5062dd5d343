package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestReloadWhileStartingDoesNotStopTheServer: `systemctl reload
// fieldgate` sends SIGHUP (the unit's ExecReload). Sent while serve was
// still starting (an ansible handler right after a restart; a slow object
// store at start), before the rules watcher listened for it, Go's default
// action ended the process, and systemd counts a death by SIGHUP as a
// clean exit, which Restart=on-failure does not restart: the town's
// gateway stayed down. Now serve takes SIGHUP from its first moment. The
// object store here accepts connections and never answers, which holds
// the start for its 15 s timeout.
func TestReloadWhileStartingDoesNotStopTheServer(t *testing.T) {
	s := newStack(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FG_FAULT_REPLICA=1")
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "FIELDGATE_S3_ENDPOINT="+ln.Addr().String())
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case <-accepted: // serve is starting: it waits for the object store
	case err := <-exited:
		t.Fatalf("serve ended before it reached the object store: %v\n%s", err, log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not reach the object store within 60s\n%s", log.String())
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("serve was ended by %v while starting (systemd restarts no clean signal)", ws.Signal())
			}
		}
		t.Fatalf("serve ended after SIGHUP while starting: %v\n%s", err, log.String())
	case <-time.After(3 * time.Second):
		// Still starting (the object store never answers): SIGHUP did not end it.
	}
}
