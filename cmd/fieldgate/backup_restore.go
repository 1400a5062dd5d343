package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/migrations"
)

const restoreUsage = `usage: fieldgate restore DIR [--config FILE]
  restores a backup into the configured bucket (created if missing) and
  database, which must be empty, then checks every row count and every
  object; a restore that failed leaves the database empty and can be re-run`

func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, restoreUsage)
		return exitError{2}
	}
	dir := args[0]
	cfg, _, err := commonFlags("restore", args[1:], getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	m, err := verifyBackupDir(ctx, dir)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if tables > 0 {
		return fmt.Errorf("restore: the database has %d tables; restore needs an empty database (create one, point database.url at it)", tables)
	}
	_, dbName, err := pgEnv(cfg.Database.URL)
	if err != nil {
		return err
	}
	// Objects first, the database last and in one transaction: a restore
	// that fails anywhere (the bucket unreachable, a wrong key, a full
	// disk) leaves the database empty, so it can simply run again; objects
	// put twice are the same bytes under the same keys.
	store, err := openMediaStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := putObjects(ctx, store, dir, m.Objects); err != nil {
		return err
	}
	if err := runPG(ctx, cfg.Database.URL, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
		"--single-transaction", "--dbname="+dbName, filepath.Join(dir, backupDumpName)); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The restored schema may be older than this binary: bring it forward
	// (migrations are forward-only and keep data).
	if err := migrations.Up(ctx, pool, log); err != nil {
		return fmt.Errorf("restore: migrate: %w", err)
	}
	if err := compareCounts(ctx, pool, m.Counts); err != nil {
		return err
	}
	n, err := verifyLive(ctx, pool, store)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into database %s and bucket %s: %s; %d objects verified\n", dir, dbName, store.Bucket(), m.summary(), n)
	return nil
}

func putObjects(ctx context.Context, store *media.Store, dir string, objs []backupObject) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, o := range objs {
		g.Go(func() error {
			f, err := os.Open(filepath.Join(dir, backupObjectsDir, filepath.FromSlash(o.Key)))
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			defer f.Close()
			if err := store.Restore(gctx, o.Key, o.ContentType, f, o.Bytes); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// compareCounts checks that the restored tables have the backup's rows.
func compareCounts(ctx context.Context, pool *pgxpool.Pool, want map[string]int64) error {
	for _, t := range sortedKeys(want) {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("restore: count %s: %w", t, err)
		}
		if n != want[t] {
			return fmt.Errorf("restore: %s has %d rows, the backup had %d", t, n, want[t])
		}
	}
	return nil
}

func sortedKeys(m map[string]int64) []string {
	return slices.Sorted(maps.Keys(m))
}
