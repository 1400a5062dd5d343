// Package slots bounds concurrent work per client (an API token, an XMPP
// sender), so that one client cannot take every upload or download slot
// of the server while others wait.
package slots

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBusy means a client has all its slots in use and none was freed in
// time.
var ErrBusy = errors.New("too many concurrent uploads from this client")

// PerKey hands out at most Limit slots per key at a time.
type PerKey struct {
	mu    sync.Mutex
	limit int
	used  map[string]int
	freed chan struct{} // closed and replaced whenever a slot is freed
}

// New returns slots with limit per key (at least 1).
func New(limit int) *PerKey {
	return &PerKey{limit: max(limit, 1), used: map[string]int{}, freed: make(chan struct{})}
}

// Acquire takes a slot for key, waiting until ctx ends for one to be
// freed; then it fails with ErrBusy. The returned func releases the slot
// (calling it twice is harmless).
func (p *PerKey) Acquire(ctx context.Context, key string) (release func(), err error) {
	for {
		p.mu.Lock()
		if p.used[key] < p.limit {
			p.used[key]++
			p.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { p.release(key) }) }, nil
		}
		ch := p.freed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (limit %d)", ErrBusy, p.limit)
		}
	}
}

func (p *PerKey) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[key]--; p.used[key] <= 0 {
		delete(p.used, key)
	}
	close(p.freed)
	p.freed = make(chan struct{})
}

// InUse reports how many slots key holds.
func (p *PerKey) InUse(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used[key]
}

// Limit is the number of slots per key.
func (p *PerKey) Limit() int { return p.limit }
