package omemo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestSubscriberCap floods one address with subscribers from many JIDs
// at once (real PostgreSQL): exactly the cap is recorded, the rest are
// refused with ErrTooManySubscribers, a recorded subscriber may
// subscribe again, other addresses are not affected, and an unsubscribe
// frees a place.
func TestSubscriberCap(t *testing.T) {
	pool := testsvc.Pool(t)
	pg := omemo.NewPG(pool)
	ctx := context.Background()
	const limit, senders = 5, 40

	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := pg.Subscribe(ctx, "info", fmt.Sprintf("flood%d@evil.example", i), limit)
			switch {
			case errors.Is(err, omemo.ErrTooManySubscribers):
				mu.Lock()
				refused++
				mu.Unlock()
			case err != nil:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := func(address string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM omemo_subscribers WHERE address = $1`, address).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("info"); n != limit || refused != senders-limit {
		t.Fatalf("recorded %d subscribers and refused %d; want %d and %d", n, refused, limit, senders-limit)
	}

	var in string
	if err := pool.QueryRow(ctx, `SELECT jid FROM omemo_subscribers WHERE address = 'info' LIMIT 1`).Scan(&in); err != nil {
		t.Fatal(err)
	}
	if err := pg.Subscribe(ctx, "info", in, limit); err != nil {
		t.Errorf("a recorded subscriber subscribing again: %v", err)
	}
	if ok, err := pg.Subscribed(ctx, "info", in); err != nil || !ok {
		t.Errorf("Subscribed(recorded) = %v, %v", ok, err)
	}
	if ok, err := pg.Subscribed(ctx, "info", "flood-never@evil.example"); err != nil || ok {
		t.Errorf("Subscribed(never recorded) = %v, %v", ok, err)
	}
	if err := pg.Subscribe(ctx, "tiefbau", "anna@stadt.localhost", limit); err != nil {
		t.Errorf("another address is affected by the cap: %v", err)
	}
	if err := pg.Subscribe(ctx, "info", "late@stadt.localhost", limit); !errors.Is(err, omemo.ErrTooManySubscribers) {
		t.Errorf("subscriber beyond the cap: %v, want ErrTooManySubscribers", err)
	}
	if err := pg.Unsubscribe(ctx, "info", in); err != nil {
		t.Fatal(err)
	}
	if err := pg.Subscribe(ctx, "info", "late@stadt.localhost", limit); err != nil {
		t.Errorf("subscriber after an unsubscribe freed a place: %v", err)
	}
	if n := count("info"); n != limit {
		t.Errorf("%d subscribers after unsubscribe and subscribe, want %d", n, limit)
	}
}

// BenchmarkSubscribe records a new subscriber under the cap (transaction,
// advisory lock, count, insert); BenchmarkSubscribeFloor is the bare
// INSERT it replaced, on the same database: report the ratio.
func BenchmarkSubscribe(b *testing.B) {
	pool := testsvc.Pool(b)
	pg := omemo.NewPG(pool)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := pg.Subscribe(ctx, "info", fmt.Sprintf("s%d@stadt.localhost", i), 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubscribeFloor(b *testing.B) {
	pool := testsvc.Pool(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := pool.Exec(ctx, `INSERT INTO omemo_subscribers (address, jid, subscribed_at) VALUES ($1, $2, now())
			ON CONFLICT (address, jid) DO NOTHING`, "info", fmt.Sprintf("s%d@stadt.localhost", i)); err != nil {
			b.Fatal(err)
		}
	}
}
