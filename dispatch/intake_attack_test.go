package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// stallDialer dials PostgreSQL for a pool whose connections, once they
// have written marker (a parameter of the statement under test), deliver
// nothing more from the server until unstall, or until the client gives
// up (a read deadline set in the past, as pgx does when its context
// ends): a slow network or a starved client between the server's commit
// and the client reading it.
type stallDialer struct {
	marker  []byte
	unstall chan struct{}
}

func (d *stallDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, d: d, expired: make(chan struct{})}, nil
}

type stallConn struct {
	net.Conn
	d       *stallDialer
	mu      sync.Mutex
	stalled bool
	expired chan struct{}
	gone    bool
}

func (c *stallConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, c.d.marker) {
		c.mu.Lock()
		c.stalled = true
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	stalled := c.stalled
	c.mu.Unlock()
	if stalled {
		select {
		case <-c.d.unstall:
		case <-c.expired:
			return 0, os.ErrDeadlineExceeded
		}
	}
	return c.Conn.Read(p)
}

func (c *stallConn) SetDeadline(t time.Time) error { c.expire(t); return c.Conn.SetDeadline(t) }

func (c *stallConn) SetReadDeadline(t time.Time) error { c.expire(t); return c.Conn.SetReadDeadline(t) }

func (c *stallConn) expire(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stalled && !t.IsZero() && !t.After(time.Now()) && !c.gone {
		c.gone = true
		close(c.expired)
	}
}

// TestPoolIntakeCancelledAfterCommitLosesNothing: an API report's batch
// that is its own transaction (no attachments: routed at intake; with a
// photo: processed right after) commits on the server, and the caller's
// context ends before the answer has arrived (the client hung up; the
// database's answer was slow). The report is accepted (a retry with its
// key is answered with its receipt), so it must keep its escalation timer
// (text) and be processed (photo). Before the fix, Intake returned the
// context's error and deleted the jobs queued before the batch, as if the
// batch had failed: a committed case that never escalated, a photo report
// never processed (whose upload the API then deleted as uncommitted).
func TestPoolIntakeCancelledAfterCommitLosesNothing(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}

	for _, tc := range []struct {
		name  string
		media []media.Object
	}{
		{"text", nil},
		{"photo", []media.Object{{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "hangup-" + tc.name
			d := &stallDialer{marker: []byte(key), unstall: make(chan struct{})}
			var once sync.Once
			unstall := func() { once.Do(func() { close(d.unstall) }) }
			t.Cleanup(unstall)
			cfg := pool.Config().Copy()
			cfg.ConnConfig.DialFunc = d.dial
			stalling, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stalling.Close)
			svc := newTestService(t, testServiceOptions{Pool: stalling, Messenger: rec, Media: sm})
			start(t, svc)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			var got dispatch.Receipt
			go func() {
				r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
					IdempotencyKey: key, Text: "Schlagloch " + tc.name, Media: tc.media,
					Position: &dispatch.Position{Lat: 51.03, Lon: 7.59}, PositionSource: dispatch.SourceAPI})
				got = r
				done <- err
			}()
			// The batch has committed on the server; its answer is held.
			var reportID, incidentID uuid.UUID
			var caseNumber string
			waitFor(t, "the report committed", func() bool {
				return pool.QueryRow(context.Background(), `SELECT r.id, r.incident_id, r.case_number FROM idempotency_keys k
					JOIN reports r ON r.id = k.report_id WHERE k.key = $1`, key).Scan(&reportID, &incidentID, &caseNumber) == nil
			})
			cancel() // the client hangs up before the answer arrives
			time.Sleep(300 * time.Millisecond)
			unstall()
			err = <-done
			t.Logf("Intake: %v", err)

			// Whatever Intake answered, the committed report must be
			// whole.
			if err == nil && (got.ReportID != reportID || got.CaseNumber != caseNumber) {
				t.Errorf("receipt %+v, database has report %s case %s", got, reportID, caseNumber)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Intake: %v", err)
			}
			if len(tc.media) == 0 {
				var timers int
				if err := pool.QueryRow(context.Background(), escalationTimersSQL, incidentID.String()).Scan(&timers); err != nil {
					t.Fatal(err)
				}
				if timers != 1 {
					t.Errorf("committed case %s has %d escalation timers, want 1 (Intake: %v)", caseNumber, timers, err)
				}
				return
			}
			var jobs int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
				WHERE kind = 'process_report' AND args->>'report_id' = $1`, reportID.String()).Scan(&jobs); err != nil {
				t.Fatal(err)
			}
			// Its durable fallback is a job or its hand-over time.
			var processed, handover bool
			if err := pool.QueryRow(context.Background(), `SELECT processed_at IS NOT NULL, processing_handover_at IS NOT NULL
				FROM reports WHERE id = $1`, reportID).Scan(&processed, &handover); err != nil {
				t.Fatal(err)
			}
			if jobs == 0 && !processed && err == nil {
				waitFor(t, "the photo report processed", func() bool {
					_ = pool.QueryRow(context.Background(), `SELECT processed_at IS NOT NULL FROM reports WHERE id = $1`, reportID).Scan(&processed)
					return processed
				})
			}
			if jobs == 0 && !processed && !handover {
				t.Errorf("committed photo report %s (case %s) is neither processed nor has a processing job or hand-over time (Intake: %v)", reportID, caseNumber, err)
			}
		})
	}
}

// waitLockWaiters waits until n sessions of the test database wait for a
// lock.
func waitLockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d intakes waiting for a lock", n), func() bool {
		var got int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got)
		return got >= n
	})
}

// TestPhotoRetryAcrossIntakePathsNoDeadlock: an app retries a photo
// report (same Idempotency-Key) while the first attempt is still being
// stored. The first attempt found a free direct slot: its batch is its own
// transaction and draws the case number first, then writes the key. The
// retry found none (the slots were busy): it is stored in a transaction
// that writes the key first and draws the case number last. Both wait for
// the counter held by a third intake. Before the fix the two took the
// counter and the key in opposite orders: a deadlock, and one attempt got
// a server error (500) instead of the other's receipt.
func TestPhotoRetryAcrossIntakePathsNoDeadlock(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	busy := "orig/2026/11/busy-" + uuid.Must(uuid.NewV7()).String()
	sm := &slowMedia{calls: map[string]int{}, delay: func(key string) time.Duration {
		if key == busy {
			return 4 * time.Second
		}
		return 0
	}}
	// Workers 1: two direct slots.
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm, Config: dispatch.Config{Workers: 1}})
	start(t, svc)
	ctx := context.Background()
	photo := func(key string) dispatch.NewReport {
		return dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", IdempotencyKey: key,
			Text: "Foto", Media: []media.Object{{Key: key, ContentType: media.TypeJPEG, Size: 1000}},
			Position: &dispatch.Position{Lat: 51.03, Lon: 7.59}, PositionSource: dispatch.SourceAPI}
	}
	// One slot busy for a while.
	if _, err := svc.Intake(ctx, photo(busy)); err != nil {
		t.Fatal(err)
	}
	release := dispatch.HoldCaseCounter(t, pool)
	key := "orig/2026/11/retry-" + uuid.Must(uuid.NewV7()).String()
	type result struct {
		r   dispatch.Receipt
		err error
	}
	first, retry := make(chan result, 1), make(chan result, 1)
	go func() {
		r, err := svc.Intake(ctx, photo(key)) // takes the last slot
		first <- result{r, err}
	}()
	waitLockWaiters(t, pool, 1)
	go func() {
		r, err := svc.Intake(ctx, photo(key)) // no slot left
		retry <- result{r, err}
	}()
	waitLockWaiters(t, pool, 2)
	release()
	a, b := <-first, <-retry
	if a.err != nil || b.err != nil {
		t.Fatalf("first attempt: %v; retry: %v", a.err, b.err)
	}
	if a.r.CaseNumber != b.r.CaseNumber || a.r.ReportID != b.r.ReportID {
		t.Errorf("first attempt %+v, retry %+v: want the same receipt", a.r, b.r)
	}
	var incidents int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&incidents); err != nil {
		t.Fatal(err)
	}
	if incidents != 2 {
		t.Errorf("%d incidents, want 2 (the busy one and the retried one)", incidents)
	}
}

// TestReplayDoesNotWaitForTheCaseCounter: an API client retries a small
// report whose key is used (the API asks Replay first only for large
// bodies; a small one's retry is caught by the intake). Every intake waits
// for the year's case counter while another holds it; a retry must not:
// it draws no number, so a client (or an attacker with a token) repeating
// a key neither waits behind nor holds up everyone's intake. Before the
// fix the retry's batch drew the case number first and failed only at the
// key, after waiting for the counter (and holding it in turn).
func TestReplayDoesNotWaitForTheCaseCounter(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool})
	start(t, svc)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		media []media.Object
	}{
		{"text", nil},
		{"photo", []media.Object{{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
				IdempotencyKey: "replay-" + tc.name, Text: "Schlagloch", Media: tc.media,
				Position: &dispatch.Position{Lat: 51.04, Lon: 7.6}, PositionSource: dispatch.SourceAPI}
			first, err := svc.Intake(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			release := dispatch.HoldCaseCounter(t, pool)
			defer release()
			rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			again, err := svc.Intake(rctx, in)
			if err != nil {
				t.Fatalf("retry while the case counter is held: %v", err)
			}
			if !again.Replayed || again.CaseNumber != first.CaseNumber || again.ReportID != first.ReportID {
				t.Errorf("retry answered %+v, want the replayed receipt of %+v", again, first)
			}
		})
	}
}

// TestPoolBatchFailingMidwayStoresNothing: a statement in the middle of
// an intake batch that is its own transaction fails on the server (here a
// trigger refuses the report row, after the incident's insert drew the
// case number). Nothing is stored: no incident, report, key, event or
// post record, the counter is not advanced (the next report gets the next
// number: no gap), and the jobs queued before the batch are gone.
func TestPoolBatchFailingMidwayStoresNothing(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
		CREATE FUNCTION refuse_marked_report() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.body LIKE '%refuse-me%' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_marked_report BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION refuse_marked_report();`); err != nil {
		t.Fatal(err)
	}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}
	svc := newTestService(t, testServiceOptions{Pool: pool, Media: sm})
	start(t, svc)
	report := func(text, key string, withPhoto bool) dispatch.NewReport {
		in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", IdempotencyKey: key, Text: text,
			Position: &dispatch.Position{Lat: 51.05, Lon: 7.61}, PositionSource: dispatch.SourceAPI}
		if withPhoto {
			in.Media = []media.Object{{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}}
		}
		return in
	}
	var nums []string
	for i, withPhoto := range []bool{false, true} {
		if _, err := svc.Intake(ctx, report("refuse-me", fmt.Sprintf("bad-%d", i), withPhoto)); err == nil {
			t.Fatalf("intake with a refused report row succeeded (photo %v)", withPhoto)
		}
		for _, q := range []string{
			`SELECT count(*) FROM incidents`, `SELECT count(*) FROM reports`, `SELECT count(*) FROM idempotency_keys`,
			`SELECT count(*) FROM incident_events`, `SELECT count(*) FROM room_posts`, `SELECT count(*) FROM media_objects`,
			`SELECT coalesce(sum(last), 0) FROM case_counters`,
			`SELECT count(*) FROM river_job WHERE kind IN ('escalate', 'process_report')`,
		} {
			var n int
			if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("after a refused batch (photo %v): %s = %d, want 0", withPhoto, q, n)
			}
		}
	}
	for i, withPhoto := range []bool{false, true} {
		// Different positions, so that the second is not a duplicate.
		in := report("Schlagloch", fmt.Sprintf("good-%d", i), withPhoto)
		in.Position.Lat += float64(i) * 0.01
		r, err := svc.Intake(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		nums = append(nums, r.CaseNumber)
	}
	assertGapless(t, nums, 2)
}

// TestXMPPIntakeNeverShowsThePlaceholder: messenger reports are stored in
// a transaction whose rows carry a placeholder case number until the
// batch's last statement draws the number. 12 senders at once, half
// without a position (needs_location, asked for one), half with one: every
// receipt, reply, room post and report view names a real case number, the
// numbers have no gaps, and a report without a position waits in
// needs_location while one with a position becomes routed only once its
// post is recorded.
func TestXMPPIntakeNeverShowsThePlaceholder(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	ctx := context.Background()
	const n = 12
	receipts := make([]dispatch.Receipt, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: fmt.Sprintf("tester%d@stadt.localhost", i+1),
				IdempotencyKey: fmt.Sprintf("m-%d", i), Text: "Schlagloch"}
			if i%2 == 1 {
				in.Position, in.PositionSource = &dispatch.Position{Lat: 51.02 + float64(i)*0.002, Lon: 7.59}, dispatch.SourceGeoURI
			}
			r, err := svc.Intake(ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			receipts[i] = r
		}()
	}
	wg.Wait()
	nums := make([]string, n)
	caseNumber := regexp.MustCompile(`^\d{4}-\d{6}$`)
	for i, r := range receipts {
		nums[i] = r.CaseNumber
		if !caseNumber.MatchString(r.CaseNumber) {
			t.Errorf("receipt %d names case %q", i, r.CaseNumber)
		}
	}
	assertGapless(t, nums, n)
	waitFor(t, "a post and a reply per report", func() bool {
		p, c := rec.snapshot()
		return len(p) >= n && len(c) >= n
	})
	posts, chats := rec.snapshot()
	for _, p := range posts {
		if strings.Contains(p.Body, "pending") {
			t.Errorf("room post shows the placeholder: %q", p.Body)
		}
	}
	for _, c := range chats {
		if strings.Contains(c.Body, "pending") {
			t.Errorf("reply shows the placeholder: %q", c.Body)
		}
	}
	for i, r := range receipts {
		if !slices.ContainsFunc(chats, func(c dispatch.ChatMessage) bool { return strings.Contains(c.Body, r.CaseNumber) }) {
			t.Errorf("no reply names case %s", r.CaseNumber)
		}
		want := dispatch.StateNeedsLocation
		if i%2 == 1 {
			want = dispatch.StateRouted
		}
		waitFor(t, "the report's state", func() bool {
			v, err := svc.GetReport(ctx, r.ReportID)
			return err == nil && v.Incident.State == want
		})
		v, err := svc.GetReport(ctx, r.ReportID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Incident.CaseNumber != r.CaseNumber || v.Report.CaseNumber != r.CaseNumber {
			t.Errorf("report view: incident %q report %q, receipt %q", v.Incident.CaseNumber, v.Report.CaseNumber, r.CaseNumber)
		}
	}
	var early int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM incidents i WHERE state = 'routed'
		AND NOT EXISTS (SELECT 1 FROM room_posts p WHERE p.incident_id = i.id AND p.posted_at IS NOT NULL)`).Scan(&early); err != nil {
		t.Fatal(err)
	}
	if early != 0 {
		t.Errorf("%d incidents routed without a recorded post", early)
	}
}

// TestRetriesAcrossReplicasStoreOnce: an app's retries of text and photo
// reports reach two replicas at once (a load balancer), each replica with
// two direct slots, so that photo attempts are stored on either intake
// path. Every key is one report; nobody gets an error; the case numbers
// have no gaps.
func TestRetriesAcrossReplicasStoreOnce(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	var svcs []*dispatch.Service
	var pool *pgxpool.Pool
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 50 * time.Millisecond }}
	for range 2 {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pool = p
		svc := newTestService(t, testServiceOptions{Pool: p, Media: sm, Config: dispatch.Config{Workers: 1}})
		start(t, svc)
		svcs = append(svcs, svc)
	}
	ctx := context.Background()
	const keys = 12
	nums := make([]string, 3*keys)
	var wg sync.WaitGroup
	for i := range 3 * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % keys
			in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
				IdempotencyKey: fmt.Sprintf("x%d", k), Text: "Schlagloch",
				Position: &dispatch.Position{Lat: 51.02 + float64(k)*0.01, Lon: 7.59}, PositionSource: dispatch.SourceAPI}
			if k%2 == 1 {
				in.Media = []media.Object{{Key: fmt.Sprintf("orig/2026/11/x%d-%d", k, i), ContentType: media.TypeJPEG, Size: 1000}}
			}
			r, err := svcs[i%2].Intake(ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = r.CaseNumber
		}()
	}
	wg.Wait()
	assertGapless(t, nums, keys)
	for _, q := range []string{`SELECT count(*) FROM incidents`, `SELECT count(*) FROM reports`, `SELECT count(*) FROM idempotency_keys`} {
		var got int
		if err := pool.QueryRow(ctx, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != keys {
			t.Errorf("%s = %d, want %d", q, got, keys)
		}
	}
}
