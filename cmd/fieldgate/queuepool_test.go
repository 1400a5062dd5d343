package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// TestQueuePoolPlansForTheArguments: a statement shaped like the job
// queue's completion (river_job joined with an array of job ids), run a
// few times while river_job is empty, as on a new database, then asked
// for its plan once the table holds 20,000 jobs. On a connection of the
// queue's pool (openQueuePool) it is planned for its arguments and looks
// the ids up by river_job's primary key. On a connection of the main
// pool, the plan PostgreSQL cached while the table was empty is kept,
// and scans the whole table: what the queue's pool is for.
func TestQueuePoolPlansForTheArguments(t *testing.T) {
	ctx := context.Background()
	pool := testsvc.Pool(t)
	qp, err := openQueuePool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer qp.Close()
	main, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer main.Release()
	queue, err := qp.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Release()
	var mode string
	if err := queue.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "force_custom_plan" {
		t.Fatalf("queue pool plan_cache_mode %q (%v)", mode, err)
	}
	// As river's JobSetStateIfRunningMany: a job is updated if it is
	// running, or if its metadata is to be merged in any state.
	const stmt = `PREPARE complete(bigint[], boolean[]) AS
		UPDATE river_job j SET state = 'completed', finalized_at = now()
		FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::boolean[]) AS merge) u
		WHERE j.id = u.id AND (j.state = 'running' OR u.merge)`
	for _, c := range []*pgxpool.Conn{main, queue} {
		if _, err := c.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if _, err := c.Exec(ctx, `EXECUTE complete('{1,2}', '{false,false}')`); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO river_job (kind, max_attempts, args) SELECT 'test', 25, '{}' FROM generate_series(1, 20000)`); err != nil {
		t.Fatal(err)
	}
	plan := func(c *pgxpool.Conn) string {
		rows, err := c.Query(ctx, `EXPLAIN EXECUTE complete('{1,2}', '{false,false}')`)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n")
	}
	if p := plan(queue); strings.Contains(p, "Seq Scan on river_job") || !strings.Contains(p, "river_job_pkey") {
		t.Errorf("queue pool: the completion does not use river_job's primary key:\n%s", p)
	}
	if p := plan(main); !strings.Contains(p, "Seq Scan on river_job") {
		t.Logf("main pool: no longer the whole table (PostgreSQL plans this differently now):\n%s", p)
		t.Errorf("the main pool's cached plan no longer scans river_job: check whether the queue still needs its own pool")
	}
}

// TestReadinessSeesTheQueuePool: a replica whose job queue cannot reach
// PostgreSQL (its pool closed here; in production, max_connections
// reached) is not ready: replies, escalations and fallbacks would stall
// while the API still answered.
func TestReadinessSeesTheQueuePool(t *testing.T) {
	ctx := context.Background()
	pool := testsvc.Pool(t)
	qp, err := openQueuePool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rules, err := routing.NewEngine(testsvc.RepoRoot(t)+"/deploy/demo/rules.yaml", log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, QueuePool: qp, Rules: rules, Logger: log}, dispatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ping(ctx); err != nil {
		t.Fatalf("ping with both pools open: %v", err)
	}
	qp.Close()
	if err := svc.Ping(ctx); err == nil || !strings.Contains(err.Error(), "job queue") {
		t.Fatalf("ping with the queue's pool closed: %v, want an error naming the job queue", err)
	}
}
