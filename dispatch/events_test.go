package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// A burst larger than one batch of the feed (one transaction committing
// 600 audit events over three incidents, with a malformed notification in
// the middle) reaches a dispatcher complete, in commit order, each event
// with its own incident.
func TestChangeFeedBurstInOrder(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}})
	start(t, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := svc.NewChangeFeed()
	go func() { _ = feed.Run(ctx) }()
	<-feed.Listening()

	caseOf := map[string]string{} // incident id → case number
	var ids []string
	for i := range 3 {
		r := fileReport(t, svc, "info", fmt.Sprintf("Ast %d", i), 51.03, 7.57+float64(i)/1e3)
		var id string
		if err := pool.QueryRow(ctx, `SELECT id::text FROM incidents WHERE case_number = $1`, r.CaseNumber).Scan(&id); err != nil {
			t.Fatal(err)
		}
		caseOf[id] = r.CaseNumber
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond) // the reports' own events go by before the subscription
	sub := feed.Subscribe(nil, 2048)
	defer sub.Close()

	const n = 600
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	want := make([]string, 0, n) // case numbers in event order
	for i := range n {
		if i == n/2 {
			if _, err := tx.Exec(ctx, `SELECT pg_notify('fieldgate_incident_events', 'not-a-payload')`); err != nil {
				t.Fatal(err)
			}
		}
		id := ids[i%3]
		if _, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, at, kind, actor, via, detail)
			VALUES ($1, now(), 'note', 'test', 'api', jsonb_build_object('i', $2::int))`, id, i); err != nil {
			t.Fatal(err)
		}
		want = append(want, caseOf[id])
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var last int64
	deadline := time.After(30 * time.Second)
	for i := 0; i < n; {
		select {
		case ch, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed after %d of %d events", i, n)
			}
			if ch.Kind != "note" {
				continue
			}
			if ch.EventID <= last {
				t.Fatalf("event %d after event %d: out of order", ch.EventID, last)
			}
			last = ch.EventID
			if ch.Incident.CaseNumber != want[i] {
				t.Fatalf("event %d of the burst carries case %s, want %s", i, ch.Incident.CaseNumber, want[i])
			}
			i++
		case <-deadline:
			t.Fatalf("only %d of %d events delivered", i, n)
		}
	}
}
