package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// BenchmarkChangeFeedBurst measures how fast the change feed (the console's
// live updates, GET /api/v1/events) delivers a burst of committed audit
// events to one dispatcher: b.N events over 20 incidents, committed in
// transactions of 10 by 4 writers at once (a storm night's intake commits
// several events per report), timed from the first commit until the last
// event is received. It reports delivered events/s and, as the floor, the
// rate at which the same inserts commit (events-committed/s), and their
// ratio.
func BenchmarkChangeFeedBurst(b *testing.B) {
	pool := testsvc.Pool(b)
	svc := newTestService(b, testServiceOptions{Pool: pool, Messenger: &recorder{}})
	start(b, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := svc.NewChangeFeed()
	go func() { _ = feed.Run(ctx) }()
	<-feed.Listening()

	var incidents []string
	for i := range 20 {
		r := fileReport(b, svc, "info", fmt.Sprintf("Baum %d", i), 51.03, 7.57+float64(i)/1e3)
		var id string
		if err := pool.QueryRow(ctx, `SELECT id::text FROM incidents WHERE case_number = $1`, r.CaseNumber).Scan(&id); err != nil {
			b.Fatal(err)
		}
		incidents = append(incidents, id)
	}
	time.Sleep(500 * time.Millisecond) // the reports' own events are delivered before anyone subscribes
	sub := feed.Subscribe(nil, b.N+1024)
	defer sub.Close()

	const writers, perTx = 4, 10
	b.ResetTimer()
	begin := time.Now()
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := w * perTx; i < b.N; i += writers * perTx {
				n := min(perTx, b.N-i)
				_, err := pool.Exec(ctx, `INSERT INTO incident_events (incident_id, at, kind, actor, via)
					SELECT $1::uuid, now(), 'note', 'bench', 'api' FROM generate_series(1, $2)`, incidents[(i/perTx)%len(incidents)], n)
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	committed := time.Since(begin)
	timeout := time.After(5*time.Minute + time.Duration(b.N)*time.Millisecond)
	for got := 0; got < b.N; {
		select {
		case ch, ok := <-sub.C:
			if !ok {
				b.Fatalf("subscription closed after %d of %d events", got, b.N)
			}
			if ch.Kind == "note" {
				got++
			}
		case <-timeout:
			b.Fatalf("%d of %d events delivered", got, b.N)
		}
	}
	delivered := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "events-delivered/s")
	b.ReportMetric(float64(b.N)/committed.Seconds(), "events-committed/s")
	b.ReportMetric(committed.Seconds()/delivered.Seconds(), "ratio")
}
