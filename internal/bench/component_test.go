package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestComponentKeepsTheServersError: an error stanza the XMPP server sends
// back to the floor's component (here: a groupchat message into a room the
// component has not entered, which XEP-0045 §7.4 refuses) is what the
// bench names when the floor room reflects nothing.
func TestComponentKeepsTheServersError(t *testing.T) {
	xenv := testsvc.XMPP(t)
	domain := testsvc.Component(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	comp, err := dialComponent(ctx, xenv.ComponentAddr, domain, xenv.Secret)
	if err != nil {
		t.Fatal(err)
	}
	defer comp.close()
	if got := comp.lastError(); got != "" {
		t.Fatalf("error before anything was sent: %q", got)
	}
	room := "fieldgate-bench-noentry-" + randToken(4) + "@" + xenv.MUC
	if err := comp.groupchat(ctx, room, floorPrefix+"not-entered"); err != nil {
		t.Fatal(err)
	}
	for comp.lastError() == "" {
		select {
		case <-ctx.Done():
			t.Fatal("the server's error stanza was not kept")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if got := comp.lastError(); !strings.HasPrefix(got, "message error: ") {
		t.Errorf("last error %q, want the message's error type and condition", got)
	}
}
