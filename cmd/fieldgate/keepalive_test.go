package main

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// stallProxy forwards TCP connections to a target; stall makes the
// connections open at that moment carry nothing more either way while
// staying open, as a connection whose path died silently (a firewall
// that forgot it, a paused machine) does. A side that closes still closes
// the other, and new connections are forwarded again.
type stallProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   []*stallConn
}

type stallConn struct {
	mu      sync.Mutex
	stalled bool
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	sc := &stallConn{}
	p.mu.Lock()
	p.open = append(p.open, sc)
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			sc.mu.Lock()
			stalled := sc.stalled
			sc.mu.Unlock()
			if n > 0 && !stalled {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return // closed: the other side is closed too
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
}

// stall stops every connection open now.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, sc := range p.open {
		sc.mu.Lock()
		sc.stalled = true
		sc.mu.Unlock()
	}
	p.open = nil
}

// TestSilentXMPPConnectionIsLeft: the gateway's connection to the XMPP
// server stops carrying anything without being closed (a firewall that
// forgot it, a paused machine: no FIN, no RST). Before, the gateway wrote
// into it and waited for stanzas for as long as the kernel kept it open,
// many minutes, taking no report. Now its ping (XEP-0199) goes
// unanswered, it leaves that connection and connects anew, and reports
// come through again.
func TestSilentXMPPConnectionIsLeft(t *testing.T) {
	proxy := newStallProxy(t, testsvc.XMPP(t).ComponentAddr)
	s, r1 := faultStack(t, map[string]string{
		"FIELDGATE_XMPP_ADDR":          proxy.addr(),
		"FIELDGATE_XMPP_PING_INTERVAL": "300ms",
		"FIELDGATE_XMPP_PING_TIMEOUT":  "700ms",
	})
	connected := func() int { return strings.Count(r1.log.String(), `msg="XMPP component connected"`) }
	if n := connected(); n != 1 {
		t.Fatalf("connected %d times before the stall, want once:\n%s", n, r1.log.String())
	}
	time.Sleep(time.Second) // pings answered: the connection is kept
	if n := connected(); n != 1 || strings.Contains(r1.log.String(), "did not answer a ping") {
		t.Fatalf("a working connection was left (%d connects):\n%s", n, r1.log.String())
	}
	stalled := time.Now()
	proxy.stall()
	for connected() < 2 {
		if time.Since(stalled) > 10*time.Second {
			t.Fatalf("still on the stalled connection 10 s later:\n%s", r1.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("connected anew %v after the stall", time.Since(stalled).Round(10*time.Millisecond))
	if !strings.Contains(r1.log.String(), "XMPP server did not answer a ping; reconnecting") {
		t.Errorf("the log does not say why the gateway connected anew:\n%s", r1.log.String())
	}
	// Reports come through the new connection.
	caseNo, _ := s.fileCase(t, "Ampel ausgefallen geo:51.0251,7.5921")
	s.waitRouted(caseNo)
}
