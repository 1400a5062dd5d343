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

// Up applies every pending migration of the application and of river.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
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
