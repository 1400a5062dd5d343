package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/media"
)

const verifyUsage = `usage: fieldgate verify-backup DIR        check a backup directory on its own
       fieldgate verify-backup --live [--config FILE]
                                         check that every media object the database references
                                         exists in S3 with its recorded SHA-256`

func runVerifyBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	live := fs.Bool("live", false, "check the configured database and bucket instead of a backup directory")
	cfgPath := fs.String("config", getenv("FIELDGATE_CONFIG"), "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if *live == (fs.NArg() == 1) || fs.NArg() > 1 {
		fmt.Fprintln(stderr, verifyUsage)
		return exitError{2}
	}
	if !*live {
		m, err := verifyBackupDir(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup %s: ok: %s\n", fs.Arg(0), m.summary())
		return nil
	}
	cfg, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := openMediaStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	n, err := verifyLive(ctx, pool, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "live: ok: %d media objects referenced by the database exist with their SHA-256\n", n)
	return nil
}

// verifyBackupDir checks a backup directory without any service: the
// manifest, the dump's size and SHA-256 (and that pg_restore can read its
// table of contents), and every object's size and SHA-256. For originals
// the manifest's sum is the one the database recorded at intake.
func verifyBackupDir(ctx context.Context, dir string) (*backupManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, backupManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notABackup(dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("verify backup: %w", err)
	}
	var m backupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("verify backup: manifest: %w", err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("verify backup: manifest format %d, this fieldgate reads %d", m.Format, backupFormat)
	}
	if m.Database.Path != backupDumpName {
		return nil, fmt.Errorf("verify backup: unexpected database file %q", m.Database.Path)
	}
	dump := filepath.Join(dir, backupDumpName)
	n, sum, err := hashFile(dump)
	if err != nil {
		return nil, fmt.Errorf("verify backup: %w", err)
	}
	if n != m.Database.Bytes || sum != m.Database.SHA256 {
		return nil, fmt.Errorf("verify backup: %s is %d bytes with SHA-256 %s, the manifest says %d bytes and %s",
			backupDumpName, n, sum, m.Database.Bytes, m.Database.SHA256)
	}
	if err := listDump(ctx, dump); err != nil {
		return nil, fmt.Errorf("verify backup: %w", err)
	}
	originals := int64(0)
	var errs []error
	for _, o := range m.Objects {
		if err := media.ValidKey(o.Key); err != nil {
			return nil, fmt.Errorf("verify backup: manifest: %w", err)
		}
		if o.Original {
			originals++
		}
		n, sum, err := hashFile(filepath.Join(dir, backupObjectsDir, filepath.FromSlash(o.Key)))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("object %s: %w", o.Key, err))
		case n != o.Bytes || sum != o.SHA256:
			errs = append(errs, fmt.Errorf("object %s is %d bytes with SHA-256 %s, want %d bytes and %s", o.Key, n, sum, o.Bytes, o.SHA256))
		}
	}
	if originals != m.Counts["media_objects"] {
		errs = append(errs, fmt.Errorf("%d originals in the manifest, the database had %d media objects", originals, m.Counts["media_objects"]))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("verify backup %s: %w", dir, err)
	}
	return &m, nil
}

// listDump checks that pg_restore can read the dump's table of contents.
func listDump(ctx context.Context, path string) error {
	// --list needs no database; runPG still sets a harmless environment.
	return runPG(ctx, "postgres:///unused", "pg_restore", "--list", "--file=/dev/null", path)
}

// verifyLive checks that every object media_objects references (original,
// team copy, thumbnail) exists in the bucket, and that every original still
// has the SHA-256 recorded at intake. It returns how many objects it checked.
func verifyLive(ctx context.Context, pool *pgxpool.Pool, store *media.Store) (int, error) {
	rows, err := pool.Query(ctx, `SELECT object_key, sha256, coalesce(derivative_key, ''), coalesce(thumb_key, '') FROM media_objects`)
	if err != nil {
		return 0, fmt.Errorf("verify: list media: %w", err)
	}
	type want struct{ key, sha string }
	var objs []want
	var key, sum, deriv, thumb string
	if _, err := pgx.ForEachRow(rows, []any{&key, &sum, &deriv, &thumb}, func() error {
		objs = append(objs, want{key, sum})
		for _, k := range []string{deriv, thumb} {
			if k != "" {
				objs = append(objs, want{k, ""})
			}
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("verify: list media: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	errs := make([]error, len(objs))
	for i, o := range objs {
		g.Go(func() error {
			r, _, err := store.Open(gctx, o.key)
			if err != nil {
				errs[i] = err
				return nil
			}
			defer r.Close()
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				errs[i] = fmt.Errorf("read %s: %w", o.key, err)
				return nil
			}
			if got := hex.EncodeToString(h.Sum(nil)); o.sha != "" && got != o.sha {
				errs[i] = fmt.Errorf("object %s has SHA-256 %s, the database recorded %s", o.key, got, o.sha)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	return len(objs), nil
}

// notABackup is the error for a directory without a manifest: usually the
// directory that holds the backups (--dir of `fieldgate backup`) given
// instead of one of them, whose newest ones it names.
func notABackup(dir string, err error) error {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.IsDir() && isBackupName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("verify backup: %s is not a fieldgate backup (%w)", dir, err)
	}
	slices.Sort(names)
	return fmt.Errorf("verify backup: %s is not a backup but holds %d backups; give one of them, e.g. the newest, %s",
		dir, len(names), filepath.Join(dir, names[len(names)-1]))
}
