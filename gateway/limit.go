package gateway

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// senderLimiter keeps one token bucket per sender, so one noisy client
// cannot starve the others. Idle buckets are dropped.
type senderLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newSenderLimiter(perMinute, burst int) *senderLimiter {
	return &senderLimiter{every: rate.Limit(float64(perMinute) / 60), burst: burst, buckets: map[string]*bucket{}}
}

// allow reports whether sender may send one more stanza now.
func (l *senderLimiter) allow(sender string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > 10*time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[sender]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[sender] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
