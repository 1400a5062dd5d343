package gateway

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// senderLimiter keeps one token bucket per sender, so one noisy client
// cannot starve the others. Idle buckets are dropped.
//
// A sender who empties their bucket is held: everything they send until
// the bucket has refilled half of its burst is refused, and only the first
// refusal of such a hold is reported (notify), so that the sender gets one
// explanation naming the time span that was not taken instead of a reply
// per message, and cannot drip messages through one token at a time.
type senderLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	hold    time.Duration // how long an emptied bucket refuses everything
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim       *rate.Limiter
	seen      time.Time
	heldUntil time.Time
}

// newSenderLimiter allows perMinute messages per sender on average and
// burst at once (both at least 1).
func newSenderLimiter(perMinute, burst int) *senderLimiter {
	perMinute, burst = max(perMinute, 1), max(burst, 1)
	every := rate.Limit(float64(perMinute) / 60)
	hold := time.Duration(float64(max(burst/2, 1)) / float64(every) * float64(time.Second))
	return &senderLimiter{every: every, burst: burst, hold: hold, buckets: map[string]*bucket{}}
}

// allow reports whether sender may send one more stanza now: the plain
// token bucket, without take's hold (for traffic nobody is told about,
// such as delivery receipts). Use either allow or take on one limiter.
func (l *senderLimiter) allow(sender string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(sender, now).lim.AllowN(now, 1)
}

// take reports whether sender may send one more stanza now. When not,
// until is when the sender's hold ends, and notify is true only for the
// first refusal of the hold.
func (l *senderLimiter) take(sender string, now time.Time) (ok, notify bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(sender, now)
	if now.Before(b.heldUntil) {
		return false, false, b.heldUntil
	}
	if b.lim.AllowN(now, 1) {
		return true, false, time.Time{}
	}
	b.heldUntil = now.Add(l.hold)
	return false, true, b.heldUntil
}

// bucket returns sender's bucket, made on first use; idle ones (10 min,
// not held) are dropped now and then. l.mu must be held.
func (l *senderLimiter) bucket(sender string, now time.Time) *bucket {
	if now.Sub(l.sweep) > 10*time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute && now.After(b.heldUntil) {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, found := l.buckets[sender]
	if !found {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[sender] = b
	}
	b.seen = now
	return b
}
