package dispatch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestLeadXMPP: of two replicas exactly one holds the component
// connection; when its database session dies, the other takes over.
func TestLeadXMPP(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	var holders, maxHolders atomic.Int32
	var mu sync.Mutex
	led := map[int]int{}
	run := func(i int) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			n := holders.Add(1)
			for {
				m := maxHolders.Load()
				if n <= m || maxHolders.CompareAndSwap(m, n) {
					break
				}
			}
			mu.Lock()
			led[i]++
			mu.Unlock()
			<-ctx.Done()
			holders.Add(-1)
			return nil
		}
	}
	pools := make([]*pgxpool.Pool, 2)
	cancels := make([]context.CancelFunc, 2)
	done := make([]chan struct{}, 2)
	for i := range 2 {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		pools[i] = p
		svc, err := dispatch.New(dispatch.Deps{Pool: p, Rules: demoRules(t), Messenger: &recorder{}, Logger: discard()},
			dispatch.Config{ElectXMPPLeader: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancels[i], done[i] = cancel, make(chan struct{})
		go func() {
			defer close(done[i])
			_ = svc.LeadXMPP(ctx, "reports.test", run(i))
		}()
		t.Cleanup(func() {
			cancel()
			<-done[i]
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = svc.Stop(sctx)
			p.Close()
		})
	}
	waitFor(t, "a leader", func() bool { return holders.Load() == 1 })
	time.Sleep(3 * dispatch.LeaderRetry) // the standby keeps trying meanwhile
	mu.Lock()
	first := -1
	for i, n := range led {
		first = i
		if n != 1 {
			t.Errorf("replica %d led %d times", i, n)
		}
	}
	mu.Unlock()
	if maxHolders.Load() != 1 || first < 0 {
		t.Fatalf("%d replicas held the lock at once", maxHolders.Load())
	}

	// The leader's database sessions die (a crashed replica).
	start := time.Now()
	cancels[first]()
	<-done[first]
	pools[first].Close()
	other := 1 - first
	waitFor(t, "the standby to take over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return led[other] == 1 && holders.Load() == 1
	})
	t.Logf("failover took %v", time.Since(start).Round(10*time.Millisecond))
	if maxHolders.Load() != 1 {
		t.Fatalf("%d replicas held the lock at once", maxHolders.Load())
	}
}
