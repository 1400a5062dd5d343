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
