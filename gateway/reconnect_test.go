package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestWaitReconnectEndsWhenPortAccepts: after a refused dial the gateway
// does not sit out its backoff once the server's port accepts again.
func TestWaitReconnectEndsWhenPortAccepts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the server is down: connections are refused
	g := &Gateway{cfg: Config{Addr: addr}, log: discardLogger()}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		g.waitReconnect(context.Background(), 20*time.Second, true)
		done <- time.Since(start)
	}()
	time.Sleep(600 * time.Millisecond)
	select {
	case d := <-done:
		t.Fatalf("waited only %v while the port was closed", d)
	default:
	}
	ln, err = net.Listen("tcp", addr) // the server is back
	if err != nil {
		t.Fatalf("port %s taken by someone else meanwhile: %v", addr, err)
	}
	defer ln.Close()
	back := time.Now()
	select {
	case <-done:
		if d := time.Since(back); d > time.Second {
			t.Fatalf("reconnect came %v after the port accepted, want < 1s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting 5s after the port accepted connections (backoff 20s)")
	}
}

// TestWaitReconnectKeepsBackoffWithoutRefusal: a server that answered
// (e.g. refused the handshake) is not hammered: the full delay is waited.
func TestWaitReconnectKeepsBackoffWithoutRefusal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := &Gateway{cfg: Config{Addr: ln.Addr().String()}, log: discardLogger()}
	start := time.Now()
	if !g.waitReconnect(context.Background(), 700*time.Millisecond, false) {
		t.Fatal("waitReconnect gave up without ctx ending")
	}
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Fatalf("waited %v, want the full 700ms", d)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
