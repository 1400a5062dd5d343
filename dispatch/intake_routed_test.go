package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
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
	assertGapless(t, nums, n/2)
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
		// One escalation timer per incident (the demo town's first steps
		// are minutes away: armed on the incident, no job yet), and none
		// for the replays.
		{`SELECT count(*) FROM incidents WHERE escalation_due_at IS NOT NULL`, n / 2},
		{`SELECT count(*) FROM river_job WHERE kind = 'escalate'`, 0},
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

// TestPhotoIntakeReplaysStoreOnce: API reports with a photo, processed
// right after their intake, are stored by a batch that is its own
// transaction, their processing job queued just before it. 10 keys, each
// filed twice at once: one report, one attachment row and one post per
// key; a replay's batch leaves nothing, and its processing job, queued
// before it, is deleted.
func TestPhotoIntakeReplaysStoreOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm})
	start(t, svc)
	ctx := context.Background()
	const keys = 10
	var wg sync.WaitGroup
	for i := range 2 * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obj := media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}
			if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
				IdempotencyKey: fmt.Sprintf("p%d", i%keys), Text: "Foto", Media: []media.Object{obj},
				Position: &dispatch.Position{Lat: 51.02 + float64(i%keys)*0.01, Lon: 7.59}, PositionSource: dispatch.SourceAPI}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every report posted", func() bool {
		var posted int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM room_posts WHERE posted_at IS NOT NULL`).Scan(&posted)
		return posted == keys
	})
	for _, q := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM incidents`, keys},
		{`SELECT count(*) FROM reports WHERE processed_at IS NOT NULL`, keys},
		{`SELECT count(*) FROM media_objects`, keys},
		{`SELECT count(*) FROM room_posts`, keys},
		{`SELECT last FROM case_counters`, keys},
		{`SELECT count(*) FROM river_job j WHERE kind = 'process_report' AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id::text = j.args->>'report_id')`, 0},
		{`SELECT count(*) FROM reports WHERE processing_handover_at IS NOT NULL`, 0},
	} {
		var got int
		if err := pool.QueryRow(ctx, q.sql).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != q.want {
			t.Errorf("%s = %d, want %d", q.sql, got, q.want)
		}
	}
	if posts, _ := rec.snapshot(); len(posts) != keys {
		t.Errorf("%d posts, want %d", len(posts), keys)
	}
}
