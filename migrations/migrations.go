// Package migrations holds fieldgate's SQL schema and applies it.
//
// The application schema is a set of goose migrations embedded from sql/;
// the job queue's tables belong to river and are applied with its own
// migrator, so upgrading river never needs a hand-copied migration.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed sql/*.sql
var files embed.FS

// ErrStale means the database schema is older than this binary expects.
var ErrStale = errors.New("database schema is not up to date")

func provider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	sub, err := fs.Sub(files, "sql")
	if err != nil {
		return nil, nil, err
	}
	// Replicas that start at once (Kubernetes init containers, systemd on
	// several hosts) migrate one after the other: a session advisory lock.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, db, nil
}

// lockTimeout bounds how long one migration statement waits for a lock
// (PostgreSQL's lock_timeout) before it gives way and is tried again.
// PostgreSQL queues every later statement on a table behind an ALTER TABLE
// waiting for its exclusive lock, so an unbounded wait behind a long
// transaction (the backup's pg_dump, a long report query) would stop every
// running server's work on that table for as long.
const lockTimeout = 2 * time.Second

// lockRetryFor is how long Up keeps trying migrations that time out
// waiting for their locks.
const lockRetryFor = 10 * time.Minute

// Up applies every pending migration of the application and of river. A
// migration that cannot get a table's lock within lockTimeout is rolled
// back and tried again a second later, for up to lockRetryFor; each
// migration is one transaction, so nothing stays half-applied, except
// those marked NO TRANSACTION, which build indexes CONCURRENTLY IF NOT
// EXISTS: one interrupted there leaves an INVALID index, which every Up
// rebuilds (rebuildInvalidIndexes).
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	mp, err := lockBoundedPool(ctx, pool)
	if err != nil {
		return err
	}
	defer mp.Close()
	giveUp := time.Now().Add(lockRetryFor)
	for attempt := 1; ; attempt++ {
		err := up(ctx, mp, logger)
		var pgErr *pgconn.PgError
		// 55P03 lock_not_available: lock_timeout expired (PostgreSQL, Appendix A).
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			return err
		}
		if time.Now().After(giveUp) {
			return fmt.Errorf("migrations: other sessions kept using the tables to change for %s (a backup's pg_dump, a long query: "+
				"SELECT pid, application_name, xact_start, query FROM pg_stat_activity WHERE state <> 'idle' shows them); "+
				"nothing is half-applied, run 'fieldgate migrate' again once they have finished: %w", lockRetryFor, err)
		}
		logger.Warn("a migration waits for a table another session uses; it gave way and tries again", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("apply migrations: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// lockBoundedPool is pool's configuration in a pool of its own whose
// sessions wait at most lockTimeout for a lock (a SET rather than a
// startup parameter, which connection poolers may refuse).
func lockBoundedPool(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Pool, error) {
	cfg := pool.Config()
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if after != nil {
			if err := after(ctx, c); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", lockTimeout.Milliseconds()))
		return err
	}
	mp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return mp, nil
}

// up applies every pending migration once.
func up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	p, db, err := provider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	if err := rebuildInvalidIndexes(ctx, pool, logger); err != nil {
		return err
	}
	return upRiver(ctx, pool, logger)
}

// upRiver applies river's own migrations.
func upRiver(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("job queue migrator: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("apply job queue migrations: %w", err)
	}
	for _, v := range res.Versions {
		logger.Info("job queue migration applied", "version", v.Version)
	}
	return nil
}

// Check returns ErrStale when a migration is pending, so that a server never
// runs against a schema it does not know.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	p, db, err := provider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if pending {
		return fmt.Errorf("%w: run 'fieldgate migrate'", ErrStale)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("job queue migrator: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check job queue migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w: job queue: %v", ErrStale, res.Messages)
	}
	return nil
}
