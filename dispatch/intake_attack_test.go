package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
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
				if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
					WHERE kind = 'escalate' AND args->>'incident_id' = $1`, incidentID.String()).Scan(&timers); err != nil {
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
			var processed bool
			if err := pool.QueryRow(context.Background(), `SELECT processed_at IS NOT NULL FROM reports WHERE id = $1`, reportID).Scan(&processed); err != nil {
				t.Fatal(err)
			}
			if jobs == 0 && !processed && err == nil {
				waitFor(t, "the photo report processed", func() bool {
					_ = pool.QueryRow(context.Background(), `SELECT processed_at IS NOT NULL FROM reports WHERE id = $1`, reportID).Scan(&processed)
					return processed
				})
			}
			if jobs == 0 && !processed {
				t.Errorf("committed photo report %s (case %s) is neither processed nor has a processing job (Intake: %v)", reportID, caseNumber, err)
			}
		})
	}
}
