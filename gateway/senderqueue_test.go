package gateway

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	sender string
	n      int
}

// TestSenderQueuesOrderPerSender: 20 senders submit 200 stanzas each from
// their own goroutines; every sender's stanzas are handled in submission
// order and none twice or lost, while senders run in parallel.
func TestSenderQueuesOrderPerSender(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]int{}
	var running, peak atomic.Int32
	q := newSenderQueues(8, 256, 10000, func(_ context.Context, v any) {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		it := v.(item)
		mu.Lock()
		seen[it.sender] = append(seen[it.sender], it.n)
		mu.Unlock()
		time.Sleep(50 * time.Microsecond)
		running.Add(-1)
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	for s := range 20 {
		sender := fmt.Sprintf("s%d@example", s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				for !q.submit(ctx, sender, item{sender, n}) {
					time.Sleep(time.Millisecond) // a full queue refuses; the test retries
				}
			}
		}()
	}
	wg.Wait()
	q.wait()
	if len(seen) != 20 {
		t.Fatalf("%d senders handled, want 20", len(seen))
	}
	for sender, ns := range seen {
		if len(ns) != 200 {
			t.Errorf("%s: %d stanzas handled, want 200", sender, len(ns))
		}
		for i, n := range ns {
			if n != i {
				t.Errorf("%s: stanza %d handled at position %d", sender, n, i)
				break
			}
		}
	}
	if p := peak.Load(); p > 8 || p < 2 {
		t.Errorf("at most %d handled at once, want between 2 and the bound 8", p)
	}
}

// TestSenderQueuesSlowSenderBlocksOnlyItself: while one sender's handler
// hangs (a slow attachment download), another sender's stanza is handled,
// and the slow sender's next stanza waits for its first.
func TestSenderQueuesSlowSenderBlocksOnlyItself(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan item, 10)
	q := newSenderQueues(4, 16, 64, func(_ context.Context, v any) {
		it := v.(item)
		if it.sender == "slow" && it.n == 0 {
			<-release
		}
		handled <- it
	})
	ctx := context.Background()
	q.submit(ctx, "slow", item{"slow", 0})
	q.submit(ctx, "slow", item{"slow", 1})
	q.submit(ctx, "fast", item{"fast", 0})
	select {
	case it := <-handled:
		if it.sender != "fast" {
			t.Fatalf("handled %+v first, want the fast sender's stanza", it)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the fast sender waited for the slow one")
	}
	select {
	case it := <-handled:
		t.Fatalf("%+v handled while the slow sender's first stanza hangs", it)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	for want := range 2 {
		if it := <-handled; it != (item{"slow", want}) {
			t.Errorf("handled %+v, want slow %d", it, want)
		}
	}
	q.wait()
}

// TestSenderQueuesBounds: a stanza beyond the per-sender or the total
// bound is refused, one within them is taken; at most workers senders are
// handled at once.
func TestSenderQueuesBounds(t *testing.T) {
	release := make(chan struct{})
	var running, peak, handled atomic.Int32
	q := newSenderQueues(1, 2, 3, func(context.Context, any) {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		<-release
		handled.Add(1)
		running.Add(-1)
	})
	ctx := context.Background()
	q.submit(ctx, "a", nil)
	for running.Load() == 0 {
		time.Sleep(time.Millisecond) // a's first stanza is being handled, nothing waits
	}
	for i, c := range []struct {
		sender string
		want   bool
	}{
		{"a", true}, {"a", true}, // two wait behind a's first
		{"a", false}, // per-sender bound
		{"b", true},  // three wait in all (b waits for the one worker)
		{"c", false}, // total bound
	} {
		if got := q.submit(ctx, c.sender, nil); got != c.want {
			t.Errorf("submit %d (%s) = %v, want %v", i, c.sender, got, c.want)
		}
	}
	close(release)
	q.wait()
	if p := peak.Load(); p != 1 {
		t.Errorf("%d handled at once, want the bound 1", p)
	}
	if n := handled.Load(); n != 4 {
		t.Errorf("%d handled, want the 4 taken", n)
	}
}

// TestSenderQueuesStopDrops: once ctx ends, what waits is dropped and wait
// returns.
func TestSenderQueuesStopDrops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var handled atomic.Int32
	started := make(chan struct{})
	q := newSenderQueues(1, 16, 64, func(ctx context.Context, _ any) {
		if handled.Add(1) == 1 {
			close(started)
		}
		<-ctx.Done()
	})
	for range 5 {
		q.submit(ctx, "a", nil)
	}
	q.submit(ctx, "b", nil)
	<-started
	cancel()
	done := make(chan struct{})
	go func() { q.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the context ended")
	}
	if n := handled.Load(); n != 1 {
		t.Errorf("%d stanzas handled, want 1 (the rest dropped)", n)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting != 0 || len(q.pending) != 0 {
		t.Errorf("queues not emptied: %d waiting, %d senders", q.waiting, len(q.pending))
	}
}

// BenchmarkSenderQueues: the cost of handing a stanza to its sender's
// queue and handling it, 64 senders, against a raw floor: one buffered
// channel drained by one goroutine (the hand-off without ordering per
// sender or parallelism). Compare the two ns/op.
func BenchmarkSenderQueues(b *testing.B) {
	senders := make([]string, 64)
	for i := range senders {
		senders[i] = fmt.Sprintf("s%d@example", i)
	}
	b.Run("floor-channel", func(b *testing.B) {
		ch := make(chan any, 4096)
		done := make(chan struct{})
		go func() {
			for range ch {
			}
			close(done)
		}()
		b.ResetTimer()
		for i := range b.N {
			ch <- item{senders[i%64], i}
		}
		close(ch)
		<-done
	})
	b.Run("senderQueues", func(b *testing.B) {
		q := newSenderQueues(32, 256, 4096, func(context.Context, any) {})
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			for !q.submit(ctx, senders[i%64], item{senders[i%64], i}) {
				runtime.Gosched() // full: wait for the handlers
			}
		}
		q.wait()
	})
}
