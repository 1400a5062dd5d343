package gateway

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"
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

// TestSenderLimiterPatrolBurst: the defaults let a patrol's burst of 30
// messages through; the first refused one starts a hold of 30 s (half the burst at 30
// per minute) in which everything is refused and only the first refusal
// is reported; afterwards the sender is served again, and nobody else was
// affected.
func TestSenderLimiterPatrolBurst(t *testing.T) {
	l := newSenderLimiter(30, 30)
	now := time.Unix(1_700_000_000, 0)
	for i := range 30 {
		if ok, _, _ := l.take("streife@x", now.Add(time.Duration(i)*100*time.Millisecond)); !ok {
			t.Fatalf("message %d of a 30-message burst refused", i+1)
		}
	}
	// 100 ms apart, 1.5 tokens came back meanwhile: the 32nd is refused.
	if ok, _, _ := l.take("streife@x", now.Add(3*time.Second)); !ok {
		t.Fatal("31st message refused although a token came back")
	}
	at := now.Add(3100 * time.Millisecond)
	ok, notify, until := l.take("streife@x", at)
	if ok || !notify || !until.Equal(at.Add(30*time.Second)) {
		t.Fatalf("32nd message: ok=%v notify=%v until=%v, want refused, reported, held 30 s", ok, notify, until.Sub(at))
	}
	for _, d := range []time.Duration{time.Second, 10 * time.Second, 29 * time.Second} {
		// Tokens refill meanwhile, but the hold refuses everything, silently.
		if ok, notify, u := l.take("streife@x", at.Add(d)); ok || notify || !u.Equal(until) {
			t.Errorf("+%v in the hold: ok=%v notify=%v until=%v", d, ok, notify, u)
		}
	}
	if !l.allow("kollege@x", at.Add(time.Second)) {
		t.Error("another sender is held by streife's hold")
	}
	if ok, _, _ := l.take("streife@x", until); !ok {
		t.Error("the sender is still refused when the hold ends")
	}
}

func TestSenderLimiterFlood(t *testing.T) {
	l := newSenderLimiter(30, 30)
	now := time.Unix(1_700_000_000, 0)
	taken, reported := 0, 0
	// A flood: 10 messages a second for 5 minutes.
	for i := range 3000 {
		ok, notify, _ := l.take("flood@x", now.Add(time.Duration(i)*100*time.Millisecond))
		if ok {
			taken++
		}
		if notify {
			reported++
		}
	}
	// At most the burst plus what trickles in between holds: far below 3000.
	if taken > 30+5*30 || taken < 30 {
		t.Errorf("flood: %d of 3000 taken", taken)
	}
	if reported == 0 || reported > 10 {
		t.Errorf("flood: %d explanations sent, want one per hold (at most 10 in 5 min)", reported)
	}
}

func TestSenderLimiterOddSettings(t *testing.T) {
	l := newSenderLimiter(0, 0) // nonsense from a config: at least 1 and 1
	now := time.Unix(1_700_000_000, 0)
	if !l.allow("a@x", now) {
		t.Fatal("first message refused with the minimum settings")
	}
	if ok, notify, until := l.take("a@x", now); ok || !notify || !until.After(now) {
		t.Errorf("second message: ok=%v notify=%v until=%v", ok, notify, until)
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

// BenchmarkSenderLimiter measures one take (map lookup under the mutex,
// hold check, token bucket) among 1000 senders; BenchmarkTokenBucketFloor
// is the raw x/time/rate bucket alone, the floor to compare it with.
func BenchmarkSenderLimiter(b *testing.B) {
	l := newSenderLimiter(30, 30)
	senders := make([]string, 1000)
	for i := range senders {
		senders[i] = "streife" + strconv.Itoa(i) + "@stadt.example"
	}
	now := time.Unix(1_700_000_000, 0)
	i := 0
	for b.Loop() {
		l.take(senders[i%len(senders)], now.Add(time.Duration(i)*time.Millisecond))
		i++
	}
}

func BenchmarkTokenBucketFloor(b *testing.B) {
	lim := rate.NewLimiter(rate.Limit(0.5), 30)
	now := time.Unix(1_700_000_000, 0)
	i := 0
	for b.Loop() {
		lim.AllowN(now.Add(time.Duration(i)*time.Millisecond), 1)
		i++
	}
}
