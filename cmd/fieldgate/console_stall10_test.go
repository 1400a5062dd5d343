package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

// TestConsoleNoticesAStalledEventStream: a dispatcher's console whose
// event stream stalls while its connection stays open (a buffering proxy,
// a connection half-open after the laptop slept or the network changed)
// notices within a few heartbeats, shows the stream as not live, connects
// again and reloads, so a case filed meanwhile appears without a reload
// of the page. Before, EventSource saw no error, the console kept showing
// "live", and the case never appeared. The browser talks to fieldgate
// through freezeProxy, which freezes the connection that carries the
// stream; fieldgate sends a heartbeat every second.
func TestConsoleNoticesAStalledEventStream(t *testing.T) {
	node, chromium, web := browserTools(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	idp.QueueUser(&mockoidc.MockUser{Subject: "dora", Email: "dora@stadt.localhost", PreferredUsername: "dora@stadt.localhost", Groups: []string{"leitstelle"}})
	oc := idp.Config()

	port := freePort(t)
	api := "http://127.0.0.1:" + strconv.Itoa(port)
	proxy := newFreezeProxy(t, "127.0.0.1:"+strconv.Itoa(port))
	base := "http://" + proxy.addr
	cfgFile := filepath.Join(t.TempDir(), "fieldgate.yaml")
	if err := os.WriteFile(cfgFile, []byte("console:\n  oidc:\n    groups:\n      leitstelle: [dispatcher]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, map[string]string{
		"FIELDGATE_CONFIG":                     cfgFile,
		"FIELDGATE_HTTP_ADDR":                  "127.0.0.1:" + strconv.Itoa(port),
		"FIELDGATE_HTTP_EVENTS_HEARTBEAT":      "1s",
		"FIELDGATE_CONSOLE_PUBLIC_URL":         base,
		"FIELDGATE_CONSOLE_OIDC_ISSUER":        oc.Issuer,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_ID":     oc.ClientID,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_SECRET": oc.ClientSecret,
	})

	frozen := 0
	steps := browserScript(t, 2*time.Minute, node, web, "stall10.mjs", []string{"FG_BASE=" + base, "FG_API=" + api, "FG_REPORTER_TOKEN=" + s.token, "FG_CHROMIUM=" + chromium},
		[]string{"signed-in", "seen", "live-again", "done"},
		func(name string, _ map[string]any) string {
			if name != "freeze" {
				return ""
			}
			frozen = proxy.freezeStreams()
			return "frozen"
		})
	if frozen == 0 {
		t.Fatal("the proxy found no event stream to freeze: the test tested nothing")
	}
	seen := steps["seen"]
	if off, _ := seen["wentOff"].(bool); !off {
		t.Errorf("the console never showed the stalled stream as not live: %v", seen)
	}
	if n, _ := seen["stalls"].(float64); n < 1 {
		t.Errorf("the console's watchdog did not fire: %v", seen)
	}
	// 1 s heartbeats: the watchdog fires after 4.5 s of silence, then
	// connects and reloads.
	if ms, _ := seen["ms"].(float64); ms > 15000 {
		t.Errorf("the case filed during the stall appeared after %v ms, want within 15 s", ms)
	}
}

// freezeProxy forwards TCP connections to a server; freezeStreams stops
// forwarding, in both directions and without closing, on every
// connection that has carried a GET /api/v1/events request, as a
// buffering proxy or a half-open connection would.
type freezeProxy struct {
	addr string
	mu   sync.Mutex
	conn []*proxiedConn
}

type proxiedConn struct {
	events atomic.Bool // a request for the event stream went through it
	frozen atomic.Bool
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{addr: ln.Addr().String()}
	var open sync.WaitGroup
	var conns sync.Map // net.Conn → struct{}, closed at cleanup
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		open.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Store(c, struct{}{})
			conns.Store(s, struct{}{})
			pc := &proxiedConn{}
			p.mu.Lock()
			p.conn = append(p.conn, pc)
			p.mu.Unlock()
			open.Add(2)
			go func() { defer open.Done(); pc.pipe(s, c, true) }()
			go func() { defer open.Done(); pc.pipe(c, s, false) }()
		}
	}()
	return p
}

// pipe copies from src to dst until either ends; once frozen, what src
// sends is read and dropped (the other side sees silence, not a close).
func (pc *proxiedConn) pipe(dst, src net.Conn, fromClient bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient && bytes.Contains(buf[:n], []byte("GET /api/v1/events")) {
				pc.events.Store(true)
			}
			if !pc.frozen.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// freezeStreams freezes the connections that carried the event stream
// and returns how many.
func (p *freezeProxy) freezeStreams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.conn {
		if c.events.Load() {
			c.frozen.Store(true)
			n++
		}
	}
	return n
}

// TestConfigEventsHeartbeatBounds: http.events_heartbeat outside 1s..5m
// (a typo such as "15ms", or a value no proxy keeps open) is refused at
// start with the key named; unset is the default.
func TestConfigEventsHeartbeatBounds(t *testing.T) {
	base := map[string]string{
		"FIELDGATE_DATABASE_URL": "postgres://db/fieldgate", "FIELDGATE_S3_ENDPOINT": "s3:9000",
		"FIELDGATE_XMPP_ADDR": "xmpp:5347", "FIELDGATE_XMPP_DOMAIN": "reports.stadt.example",
		"FIELDGATE_XMPP_SECRET": "s", "FIELDGATE_RULES_FILE": "rules.yaml",
	}
	for v, ok := range map[string]bool{"": true, "1s": true, "15s": true, "5m": true, "15ms": false, "10m": false, "-1s": false} {
		get := func(k string) string {
			if k == "FIELDGATE_HTTP_EVENTS_HEARTBEAT" {
				return v
			}
			return base[k]
		}
		_, err := loadConfig("", get)
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "http.events_heartbeat")) {
			t.Errorf("events_heartbeat %q: err = %v, want ok = %v with the key named", v, err, ok)
		}
	}
}
