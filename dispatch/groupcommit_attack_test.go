package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestTwoReplicasGroupRetriesWithoutDeadlock: two replicas on one
// database group their intakes at once; an API client's retries reach
// both (each key once on each), and reports without an Idempotency-Key
// are among them. While the case counter is held, every intake gathers
// in its replica's group; then both groups run together. Each group takes
// its keys' locks before the counter row, in key order, so neither waits
// for the other in a cycle: no deadlock (no stall of deadlock_timeout),
// every caller answered, a key's two attempts with one receipt, every
// report stored once, case numbers without gaps.
func TestTwoReplicasGroupRetriesWithoutDeadlock(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	pool2, err := pgxpool.New(ctx, pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	replicas := []*dispatch.Service{
		newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}}),
		newTestService(t, testServiceOptions{Pool: pool2, Messenger: &recorder{}}),
	}
	for _, s := range replicas {
		start(t, s)
	}
	const keys, unkeyed = 15, 10
	type call struct {
		replica int
		key     string
	}
	var calls []call
	for k := range keys {
		// Key order differs between the replicas' groups.
		calls = append(calls, call{0, fmt.Sprintf("k%02d", k)}, call{1, fmt.Sprintf("k%02d", keys-1-k)})
	}
	for i := range unkeyed {
		calls = append(calls, call{i % 2, ""})
	}
	var deadlocksBefore int64
	if err := pool.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocksBefore); err != nil {
		t.Fatal(err)
	}

	release := dispatch.HoldCaseCounter(t, pool)
	receipts := make([]dispatch.Receipt, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = replicas[c.replica].Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau",
				Sender: "token:app", IdempotencyKey: c.key, Text: "Schlagloch",
				Position: &dispatch.Position{Lat: 51.02 + float64(i)*0.01, Lon: 7.59}, PositionSource: dispatch.SourceAPI})
		}()
	}
	waitLockWaiters(t, pool, 2) // one group per replica waits for the counter
	time.Sleep(200 * time.Millisecond)
	began := time.Now()
	release()
	wg.Wait()
	took := time.Since(began)

	byKey := map[string]dispatch.Receipt{}
	var nums []string
	for i, c := range calls {
		if errs[i] != nil {
			t.Errorf("replica %d, key %q: %v", c.replica, c.key, errs[i])
			continue
		}
		nums = append(nums, receipts[i].CaseNumber)
		if c.key == "" {
			continue
		}
		if prev, ok := byKey[c.key]; ok && (prev.ReportID != receipts[i].ReportID || prev.CaseNumber != receipts[i].CaseNumber) {
			t.Errorf("key %s: receipts %+v and %+v, want one", c.key, prev, receipts[i])
		}
		byKey[c.key] = receipts[i]
	}
	if t.Failed() {
		return
	}
	assertGapless(t, nums, keys+unkeyed)
	var reports, counter int
	if err := pool.QueryRow(ctx, `SELECT count(*), (SELECT max(last) FROM case_counters) FROM reports`).Scan(&reports, &counter); err != nil {
		t.Fatal(err)
	}
	if reports != keys+unkeyed || counter != keys+unkeyed {
		t.Errorf("%d reports, counter at %d; want %d each", reports, counter, keys+unkeyed)
	}
	// The deadlock counter is flushed when a backend's transaction ends;
	// give it a moment.
	time.Sleep(600 * time.Millisecond)
	var deadlocks int64
	if err := pool.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err != nil {
		t.Fatal(err)
	}
	if deadlocks != deadlocksBefore {
		t.Errorf("%d deadlocks while the replicas' groups ran (they took %v)", deadlocks-deadlocksBefore, took)
	}
	t.Logf("%d intakes on two replicas answered %v after the counter was released", len(calls), took)
}
