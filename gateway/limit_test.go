package gateway

import (
	"testing"
	"time"
)

func TestSenderLimiter(t *testing.T) {
	l := newSenderLimiter(60, 3) // one per second, burst 3
	now := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		if !l.allow("a@x", now) {
			t.Fatalf("message %d within burst refused", i)
		}
	}
	if l.allow("a@x", now) {
		t.Fatal("fourth message in the same instant allowed")
	}
	if !l.allow("b@x", now) {
		t.Fatal("another sender is limited by a's bucket")
	}
	if !l.allow("a@x", now.Add(1100*time.Millisecond)) {
		t.Fatal("a token did not come back after a second")
	}
}

func TestPostIDs(t *testing.T) {
	var p postIDs
	p.add("sid-1", "fg-1")
	if got := p.origin("sid-1"); got != "fg-1" {
		t.Fatalf("origin(sid-1) = %q", got)
	}
	if got := p.origin("fg-7"); got != "fg-7" {
		t.Fatalf("unknown ids must map to themselves, got %q", got)
	}
	for i := range maxPostIDs {
		p.add(string(rune('a'+i%26))+string(rune(i)), "x")
	}
	if got := p.origin("sid-1"); got != "sid-1" {
		t.Fatalf("oldest entry not evicted at the cap: %q", got)
	}
	if len(p.ids) > maxPostIDs {
		t.Fatalf("map grew to %d", len(p.ids))
	}
}
