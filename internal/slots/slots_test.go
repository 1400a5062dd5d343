package slots

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPerKeyBoundsOneKeyNotOthers(t *testing.T) {
	p := New(2)
	ctx := context.Background()
	r1, err1 := p.Acquire(ctx, "a")
	r2, err2 := p.Acquire(ctx, "a")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(short, "a"); !errors.Is(err, ErrBusy) {
		t.Fatalf("third slot for a: %v, want ErrBusy", err)
	}
	rb, err := p.Acquire(ctx, "b")
	if err != nil {
		t.Fatalf("another key is blocked: %v", err)
	}
	rb()
	r1()
	r1() // twice is harmless
	if n := p.InUse("a"); n != 1 {
		t.Fatalf("InUse(a) = %d after one release, want 1", n)
	}
	r3, err := p.Acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	r2()
	r3()
	if n := p.InUse("a"); n != 0 {
		t.Fatalf("InUse(a) = %d, want 0", n)
	}
}

// TestPerKeyRace: many goroutines of one key never hold more than the
// limit at once, and waiting ones get freed slots.
func TestPerKeyRace(t *testing.T) {
	p := New(3)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := p.Acquire(context.Background(), "k")
			if err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			cur.Add(-1)
			rel()
		}()
	}
	wg.Wait()
	if peak.Load() > 3 || peak.Load() < 1 {
		t.Fatalf("peak concurrency %d, want 1..3", peak.Load())
	}
}
