package deploy_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestXMPPServerAcceptsWithoutNagle proves that the test XMPP server
// (Prosody with network_settings = { nagle = false }, or ejabberd 23.01,
// whose listeners set {nodelay, true} themselves) has TCP_NODELAY on the
// sockets it accepts for clients (c2s) and for components (XEP-0114): with
// Nagle's algorithm on, a small write that follows one not yet
// acknowledged waits for the peer's delayed ACK, up to 40 ms on Linux
// (docs/xmpp-server.md, "ejabberd and Nagle's algorithm"). It reads the option from the
// kernel on the server's own socket for this test's connection: the
// socket is copied out of the server process with pidfd_getfd(2) (Linux
// 5.6; needs the right to ptrace the server: root, as in CI) and read with
// getsockopt(TCP_NODELAY). It runs in make test against Prosody and in
// make test-ejabberd against ejabberd.
func TestXMPPServerAcceptsWithoutNagle(t *testing.T) {
	x := testsvc.XMPP(t)
	component := testsvc.Component(t)
	dir := os.Getenv("FIELDGATE_TEST_DIR")
	if dir == "" {
		testsvc.Required(t, "FIELDGATE_TEST_DIR")
	}
	pidFile := filepath.Join(dir, "run", "prosody.pid")
	if x.Server == testsvc.Ejabberd {
		pidFile = filepath.Join(dir, "ejabberd", "ejabberd.pid")
	}
	pid := readPidFile(t, pidFile)

	// The check can fail: the same reading of one of this process's own
	// sockets sees Nagle's algorithm on and off.
	for _, noDelay := range []bool{false, true} {
		if got := ownSocketNoDelay(t, noDelay); got != noDelay {
			t.Fatalf("own socket with SetNoDelay(%v) read as TCP_NODELAY %v", noDelay, got)
		}
	}

	for _, c := range []struct{ name, addr, header string }{
		{"c2s", x.C2S, "<?xml version='1.0'?><stream:stream to='" + x.Domain +
			"' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"},
		{"component", x.ComponentAddr, "<?xml version='1.0'?><stream:stream to='" + component +
			"' xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := openStream(t, c.addr, c.header)
			on, err := peerNoDelay(pid, conn.LocalAddr().(*net.TCPAddr))
			if err != nil {
				noPermission(t, err)
				t.Fatalf("%s %s: %v", x.Server, c.name, err)
			}
			if !on {
				t.Errorf("%s accepted the %s connection with Nagle's algorithm on (TCP_NODELAY off)", x.Server, c.name)
			}
		})
	}
}

// openStream connects to addr, sends an XMPP stream header and waits for
// the server's answer, so that the server has accepted the connection and
// set its socket options; the connection is closed when the test ends.
func openStream(t *testing.T, addr, header string) *net.TCPConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(header)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("%s: no answer to the stream header: %v", addr, err)
	}
	if !strings.Contains(string(buf[:n]), "stream") {
		t.Fatalf("%s: answer to the stream header: %q", addr, buf[:n])
	}
	return conn.(*net.TCPConn)
}

// peerNoDelay reports whether the socket process pid holds for the
// connection whose far end is peer has TCP_NODELAY set.
func peerNoDelay(pid int, peer *net.TCPAddr) (bool, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, err
	}
	for _, e := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:") {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			return false, fmt.Errorf("pidfd_getfd %d of process %d: %w", n, pid, err)
		}
		on, match, err := noDelayIfPeer(fd, peer)
		unix.Close(fd)
		if match {
			return on, err
		}
	}
	return false, fmt.Errorf("process %d holds no socket connected to %s", pid, peer)
}

// noDelayIfPeer reads TCP_NODELAY of fd if fd is a TCP socket connected
// to peer; match is false for any other socket.
func noDelayIfPeer(fd int, peer *net.TCPAddr) (on, match bool, err error) {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return false, false, nil // a listening or unconnected socket
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		match = a.Port == peer.Port && net.IP(a.Addr[:]).Equal(peer.IP)
	case *unix.SockaddrInet6:
		match = a.Port == peer.Port && net.IP(a.Addr[:]).Equal(peer.IP)
	}
	if !match {
		return false, false, nil
	}
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	return v != 0, true, err
}

// ownSocketNoDelay makes a loopback connection in this process, sets
// Nagle's algorithm on the accepted end as noDelay says, and reads it back
// the way peerNoDelay reads the server's.
func ownSocketNoDelay(t *testing.T, noDelay bool) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := server.(*net.TCPConn).SetNoDelay(noDelay); err != nil {
		t.Fatal(err)
	}
	on, err := peerNoDelay(os.Getpid(), client.LocalAddr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	return on
}

// noPermission stops the test when this process may not read another
// process's sockets (not root, no CAP_SYS_PTRACE): it fails under CI=true,
// where the tests run as root, and is skipped elsewhere.
func noPermission(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return
	}
	msg := fmt.Sprintf("cannot read the XMPP server's socket options (%v): run as root or with CAP_SYS_PTRACE", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func readPidFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the test XMPP server's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid in %s: %v", path, err)
	}
	return pid
}
