package migrations_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/migrations"
)

// TestMigrateDoesNotStallTheRunningServer: during a rolling upgrade the
// old replicas keep serving while `fieldgate migrate` runs, and at night
// the backup's pg_dump (or a long report query) holds a shared lock on
// every table for minutes. A migration's ALTER TABLE queued behind it for
// its exclusive lock, and PostgreSQL queued every later statement on that
// table behind the ALTER: the running servers could neither accept nor
// show a single incident until the backup finished. Now each migration
// statement waits for a lock at most a couple of seconds, gives way, and
// tries again, so readers and writers get through between the attempts;
// the migration completes once the long transaction ends.
func TestMigrateDoesNotStallTheRunningServer(t *testing.T) {
	ctx := context.Background()
	// 00017 adds a column to incidents: pending after 16.
	url, pool, log := databaseAt(t, 16)
	// The backup's snapshot transaction (or pg_dump) reading incidents.
	backup := holdIncidents(t, pool, `SELECT count(*) FROM incidents`)
	migrated := migrateInBackground(ctx, url, log)
	// Wait until the migration waits for its lock on incidents.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'incidents' AND NOT l.granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-migrated:
			t.Fatalf("migrate finished (%v) while a transaction held incidents", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration never waited for incidents within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The old replica reads and writes incidents as always: within a few
	// seconds, not after the backup.
	for range 3 {
		rctx, cancel := context.WithTimeout(ctx, 8*time.Second)
		start := time.Now()
		var n int
		err := pool.QueryRow(rctx, `SELECT count(*) FROM incidents`).Scan(&n)
		cancel()
		if err != nil {
			t.Fatalf("a server's query on incidents while migrate waits: %v after %s", err, time.Since(start).Round(time.Millisecond))
		}
		t.Logf("query on incidents answered after %s", time.Since(start).Round(time.Millisecond))
	}
	select {
	case err := <-migrated:
		t.Fatalf("migrate finished (%v) while a transaction still held incidents", err)
	default:
	}
	if err := backup.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-migrated:
		if err != nil {
			t.Fatalf("migrate after the long transaction ended: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("migrate did not finish within 60s of the long transaction's end")
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Error(err)
	}
}

// databaseAt is a new database migrated up to version, a pool on it
// (closed with the test) and a logger that discards.
func databaseAt(t *testing.T, version int64) (string, *pgxpool.Pool, *slog.Logger) {
	t.Helper()
	url := testsvc.EmptyDatabaseURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := migrations.UpTo(context.Background(), pool, version, log); err != nil {
		t.Fatal(err)
	}
	return url, pool, log
}

// holdIncidents opens a transaction that runs stmt (a running server's
// read or write of incidents) and stays open; the test ends it, or it is
// rolled back when the test ends (before the pool closes).
func holdIncidents(t *testing.T, pool *pgxpool.Pool, stmt string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, stmt); err != nil {
		t.Fatal(err)
	}
	return tx
}

// migrateInBackground runs migrations.Up on a pool of its own and sends
// its result.
func migrateInBackground(ctx context.Context, url string, log *slog.Logger) <-chan error {
	migrated := make(chan error, 1)
	go func() {
		mpool, err := pgxpool.New(ctx, url)
		if err != nil {
			migrated <- err
			return
		}
		defer mpool.Close()
		migrated <- migrations.Up(ctx, mpool, log)
	}()
	return migrated
}
