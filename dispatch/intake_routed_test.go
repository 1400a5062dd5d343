package dispatch_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRoutedIntakeReplaysStoreOnce: API reports routed at intake are
// stored by a batch that is its own transaction. 40 concurrent intakes,
// every idempotency key twice: each key is one report, one incident, one
// post; the case numbers have no gaps; a replay leaves nothing behind (no
// incident, event, post record or case number of its own).
func TestRoutedIntakeReplaysStoreOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	const n = 40
	nums := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
				IdempotencyKey: fmt.Sprintf("k%d", i%(n/2)), Text: "Schlagloch",
				Position: &dispatch.Position{Lat: 51.02 + float64(i%(n/2))*0.01, Lon: 7.59}, PositionSource: dispatch.SourceAPI})
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = r.CaseNumber
		}()
	}
	wg.Wait()
	uniq := map[string]bool{}
	for _, c := range nums {
		uniq[c] = true
	}
	if len(uniq) != n/2 {
		t.Fatalf("%d distinct case numbers for %d keys", len(uniq), n/2)
	}
	var sorted []string
	for c := range uniq {
		sorted = append(sorted, c)
	}
	sort.Strings(sorted)
	year := time.Now().In(mustLoc(t)).Year()
	for i, c := range sorted {
		if want := fmt.Sprintf("%d-%06d", year, i+1); c != want {
			t.Fatalf("case numbers have a gap: %v", sorted)
		}
	}
	waitFor(t, "every report posted", func() bool {
		var posted int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM room_posts WHERE posted_at IS NOT NULL`).Scan(&posted)
		return posted == n/2
	})
	for _, q := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM incidents`, n / 2},
		{`SELECT count(*) FROM reports`, n / 2},
		{`SELECT count(*) FROM idempotency_keys`, n / 2},
		{`SELECT count(*) FROM incident_events WHERE kind = 'received'`, n / 2},
		{`SELECT count(*) FROM room_posts`, n / 2},
		{`SELECT count(*) FROM incidents WHERE case_number LIKE 'pending-%'`, 0},
		{`SELECT count(*) FROM reports r JOIN incidents i ON r.incident_id = i.id WHERE r.case_number <> i.case_number`, 0},
		{`SELECT last FROM case_counters`, n / 2},
	} {
		var got int
		if err := pool.QueryRow(ctx, q.sql).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != q.want {
			t.Errorf("%s = %d, want %d", q.sql, got, q.want)
		}
	}
	if posts, _ := rec.snapshot(); len(posts) != n/2 {
		t.Errorf("%d posts, want %d", len(posts), n/2)
	}
}
