package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// TestEscalationLateness measures how late escalation timers fire with many
// open incidents holding timers, under a steady stream of new reports. It
// is a load test, run only when FIELDGATE_BENCH_LATENESS=1:
//
//	FIELDGATE_BENCH_LATENESS=1 FIELDGATE_BENCH_INCIDENTS=100000 FIELDGATE_BENCH_RATE=100 \
//	FIELDGATE_BENCH_SECONDS=120 go test -run TestEscalationLateness -v -timeout 30m ./dispatch/
//
// INCIDENTS open incidents get one escalation timer each, due uniformly
// over the next HORIZON (default 1h, like a 30m/60m policy), so during the
// SECONDS measured INCIDENTS·SECONDS/HORIZON of them fire. Meanwhile RATE
// API reports per second are taken in, routed, posted and get timers of
// their own. Lateness is the time from a timer's due time to the start of
// its escalation's transaction (late_ms of the event), as p50/p99/max.
func TestEscalationLateness(t *testing.T) {
	if os.Getenv("FIELDGATE_BENCH_LATENESS") != "1" {
		t.Skip("load test; set FIELDGATE_BENCH_LATENESS=1")
	}
	n := envInt("FIELDGATE_BENCH_INCIDENTS", 20000)
	rate := envInt("FIELDGATE_BENCH_RATE", 100)
	secs := envInt("FIELDGATE_BENCH_SECONDS", 60)
	horizon := time.Duration(envInt("FIELDGATE_BENCH_HORIZON_S", 3600)) * time.Second
	replicas := envInt("FIELDGATE_BENCH_REPLICAS", 1)
	poll := time.Duration(envInt("FIELDGATE_BENCH_POLL_MS", 1000)) * time.Millisecond // the production default
	ctx := context.Background()
	url := testsvc.DatabaseURL(t)

	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(`
version: 1
policies:
  bench:
    levels:
      - after: 30m
        notify: room
teams:
  bench:
    name: Bench
    room: bench@conference.stadt.localhost
    policy: bench
addresses:
  bench:
    allow: [public]
    default_team: bench
default:
  team: bench
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := routing.NewEngine(rulesPath, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var svcs []*Service
	for range replicas {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 24
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		svc, err := New(Deps{Pool: pool, Rules: rules, Messenger: nopMessenger{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			Config{PollInterval: poll, Retention: RetentionConfig{Interval: -1}})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	svc := svcs[0]

	// Preload: n routed incidents with one timer each.
	t0 := time.Now()
	start := t0.Add(20 * time.Second)
	if _, err := svc.pool.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, team, policy, created_at, updated_at, escalation_round, escalation_started_at)
		SELECT gen_random_uuid(), 'B-' || lpad(g::text, 7, '0'), 'routed', 'bench', 'bench', 'bench', $1, $1, 1, $1
		FROM generate_series(1, $2) g`, t0, n); err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(must(svc.pool.Query(ctx, `SELECT id FROM incidents ORDER BY case_number`)), pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(ids); lo += 5000 {
		var params []river.InsertManyParams
		for i := lo; i < min(lo+5000, len(ids)); i++ {
			a := escalateArgs{IncidentID: ids[i], Round: 1}
			opts := a.InsertOpts()
			opts.ScheduledAt = start.Add(time.Duration(float64(horizon) * float64(i) / float64(n)))
			params = append(params, river.InsertManyParams{Args: a, InsertOpts: &opts})
		}
		err := pgx.BeginFunc(ctx, svc.pool, func(tx pgx.Tx) error {
			_, err := svc.queue.InsertManyFastTx(ctx, tx, params)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("preloaded %d incidents with timers in %v", n, time.Since(t0).Round(time.Millisecond))

	for _, s := range svcs {
		runCtx, cancel := context.WithCancel(ctx)
		if err := s.Start(runCtx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, c := context.WithTimeout(context.Background(), 30*time.Second)
			defer c()
			_ = s.Stop(sctx)
			cancel()
		})
	}
	time.Sleep(time.Until(start))

	// Steady intake for the measured window.
	var accepted, failed atomic.Int64
	end := start.Add(time.Duration(secs) * time.Second)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	sem := make(chan struct{}, 32)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := svcs[int(accepted.Load()+failed.Load())%len(svcs)].Intake(ctx, NewReport{Channel: ChannelAPI, Address: "bench", Sender: "token:bench", Text: "Lasttest"})
			if err != nil {
				failed.Add(1)
				return
			}
			accepted.Add(1)
		}()
	}
	tick.Stop()
	time.Sleep(5 * time.Second) // let the last due timers fire

	rows, err := svc.pool.Query(ctx, `
		SELECT (detail->>'late_ms')::bigint FROM incident_events
		WHERE kind = 'escalated' AND (detail->>'due')::timestamptz <= $1`, end)
	if err != nil {
		t.Fatal(err)
	}
	var late []time.Duration
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			t.Fatal(err)
		}
		late = append(late, time.Duration(ms)*time.Millisecond)
	}
	rows.Close()
	var due, unrouted int
	_ = svc.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate' AND scheduled_at <= $1`, end).Scan(&due)
	_ = svc.pool.QueryRow(ctx, `SELECT count(*) FROM reports WHERE processed_at IS NULL`).Scan(&unrouted)
	slices.Sort(late)
	q := func(p float64) time.Duration {
		if len(late) == 0 {
			return 0
		}
		return late[min(len(late)-1, int(p*float64(len(late))))].Round(time.Millisecond)
	}
	t.Logf("%d open incidents with timers (horizon %v), %d replicas, poll %v, %d s at %d reports/s: %d reports accepted (%d failed), %d unrouted at the end",
		n, horizon, replicas, poll, secs, rate, accepted.Load(), failed.Load(), unrouted)
	t.Logf("escalations due in the window: %d, fired: %d; lateness p50 %v, p90 %v, p99 %v, max %v",
		due, len(late), q(0.5), q(0.9), q(0.99), q(1))
	var twice int
	if err := svc.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT incident_id FROM incident_events
		WHERE kind = 'escalated' GROUP BY incident_id HAVING count(*) > 1) d`).Scan(&twice); err != nil || twice != 0 {
		t.Errorf("%d incidents escalated more than once (%v)", twice, err)
	}
	if len(late) < due {
		t.Errorf("%d of %d due escalations did not fire", due-len(late), due)
	}
}

type nopMessenger struct{}

func (nopMessenger) PostToRoom(context.Context, RoomPost) (string, error) { return "sid", nil }
func (nopMessenger) SendChat(context.Context, ChatMessage) error          { return nil }
func (nopMessenger) FindRoomPost(context.Context, string, string, time.Time) (string, bool, error) {
	return "", false, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("lateness test: %v", err))
	}
	return v
}
