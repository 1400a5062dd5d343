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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

// A backup is one directory:
//
//	fieldgate-backup-20261130T023000Z/
//	  manifest.json      what is in it, with SHA-256 sums (backupManifest)
//	  database.dump      pg_dump custom format of the whole database
//	  objects/<key>      every media object the dump references (originals
//	                     and team copies), under its own key
//
// The dump and the list of objects come from one snapshot (pg_dump
// --snapshot with a snapshot exported by our own transaction), so the
// objects are exactly the ones the dumped rows reference.

const (
	backupPrefix       = "fieldgate-backup-"
	backupManifestName = "manifest.json"
	backupDumpName     = "database.dump"
	backupObjectsDir   = "objects"
	backupFormat       = 1
)

// backupManifest describes a backup. Format 1.
type backupManifest struct {
	Format        int              `json:"format"`
	CreatedAt     time.Time        `json:"created_at"`
	Version       string           `json:"fieldgate_version"`
	SchemaVersion int64            `json:"schema_version"` // goose version of the dumped database
	Database      backupFile       `json:"database"`
	Bucket        string           `json:"bucket"`
	Objects       []backupObject   `json:"objects"`
	Counts        map[string]int64 `json:"counts"` // rows per table, to compare after a restore
}

type backupFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// backupObject is one media object. Original is true for uploads, whose
// SHA-256 the database recorded at intake (media_objects.sha256); team
// copies have the sum taken when the backup read them.
type backupObject struct {
	Key         string `json:"key"`
	ContentType string `json:"content_type"`
	Bytes       int64  `json:"bytes"`
	SHA256      string `json:"sha256"`
	Original    bool   `json:"original"`
}

// countedTables are compared between a backup and its restore.
var countedTables = []string{"incidents", "reports", "incident_events", "media_objects", "room_posts", "api_tokens"}

const backupUsage = `usage: fieldgate backup --dir DIR [--keep N] [--config FILE]
  writes DIR/fieldgate-backup-<time>/ (database dump, media objects, manifest),
  verifies it, and deletes all but the newest N backups in DIR (--keep, default 0 = keep all)`

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dir string
	var keep int
	cfg, _, err := commonFlags("backup", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", "", "directory that holds the backups")
		fs.IntVar(&keep, "keep", 0, "keep this many newest backups in --dir (0 = all)")
	})
	if err != nil {
		return err
	}
	if dir == "" || keep < 0 {
		fmt.Fprintln(stderr, backupUsage)
		return exitError{2}
	}
	log := newLogger(cfg, stderr)
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := openMediaStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	unlock, err := lockBackupDir(dir, log)
	if err != nil {
		return err
	}
	defer unlock()
	now := time.Now().UTC()
	final := filepath.Join(dir, backupPrefix+now.Format(backupTimeLayout))
	tmp := final + ".tmp"
	if err := os.MkdirAll(filepath.Join(tmp, backupObjectsDir), 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// A failed backup leaves nothing behind that looks like a backup.
	defer os.RemoveAll(tmp)

	// Retention deletes no objects while this is held (dispatch.BackupLock),
	// so every object the snapshot names is still there to copy.
	lock, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer lock.Release()
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock_shared($1)`, dispatch.BackupLock); err != nil {
		return fmt.Errorf("backup: wait for retention: %w", err)
	}
	defer func() {
		_, _ = lock.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock_shared($1)`, dispatch.BackupLock)
	}()
	m := backupManifest{Format: backupFormat, CreatedAt: now, Version: buildVersion(), Bucket: store.Bucket(), Counts: map[string]int64{}}
	if err := dumpDatabase(ctx, cfg, pool, tmp, &m); err != nil {
		return err
	}
	if err := copyObjects(ctx, store, tmp, m.Objects); err != nil {
		return err
	}
	if err := writeManifest(tmp, &m); err != nil {
		return err
	}
	if _, err := verifyBackupDir(ctx, tmp); err != nil {
		return fmt.Errorf("backup failed its own verification: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	log.Info("backup written", "dir", final, "objects", len(m.Objects), "database_bytes", m.Database.Bytes)
	// The new backup is complete: an old one that cannot be deleted is
	// logged and counted (fieldgate_backup_prune_failures), not a failed
	// backup, which would have the unit and FieldgateBackupMissing point
	// at the wrong problem.
	pruneFailures := 0
	if keep > 0 {
		pruneFailures = pruneBackups(dir, keep, filepath.Base(final), log)
	}
	if err := recordBackup(ctx, pool, &m, pruneFailures); err != nil {
		// The backup is complete; only the alert on missing backups
		// (fieldgate_backup_last_success_timestamp_seconds) does not see it.
		log.Warn("backup complete, but not recorded for monitoring", "err", err)
	}
	fmt.Fprintf(stdout, "backup %s: %s\n", final, m.summary())
	if pruneFailures > 0 {
		fmt.Fprintf(stdout, "backup %s is complete, but %d old backup(s) beyond --keep %d could not be deleted (see the log): they still hold personal data\n",
			final, pruneFailures, keep)
	}
	return nil
}

// dumpDatabase runs pg_dump on a snapshot exported by a transaction that
// also reads the media references and row counts, so all three agree.
func dumpDatabase(ctx context.Context, cfg *Config, pool interface {
	BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
}, dir string, m *backupManifest) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("backup: begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return fmt.Errorf("backup: export snapshot: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&m.SchemaVersion); err != nil {
		return fmt.Errorf("backup: schema version: %w", err)
	}
	for _, t := range countedTables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("backup: count %s: %w", t, err)
		}
		m.Counts[t] = n
	}
	rows, err := tx.Query(ctx, `SELECT object_key, content_type, size_bytes, sha256, coalesce(derivative_key, ''), coalesce(thumb_key, '')
		FROM media_objects ORDER BY object_key`)
	if err != nil {
		return fmt.Errorf("backup: list media: %w", err)
	}
	var key, ct, sum, deriv, thumb string
	var size int64
	_, err = pgx.ForEachRow(rows, []any{&key, &ct, &size, &sum, &deriv, &thumb}, func() error {
		m.Objects = append(m.Objects, backupObject{Key: key, ContentType: ct, Bytes: size, SHA256: sum, Original: true})
		for _, k := range []string{deriv, thumb} {
			if k != "" {
				m.Objects = append(m.Objects, backupObject{Key: k}) // sum and type filled when copied
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup: list media: %w", err)
	}
	for _, o := range m.Objects {
		if err := media.ValidKey(o.Key); err != nil {
			return fmt.Errorf("backup: media_objects holds a key fieldgate does not make: %w", err)
		}
	}
	// pg_dump imports the snapshot while our transaction keeps it alive.
	// It creates its file with the process's umask (0644 under 022), and
	// the dump holds every report: create it owner-only first; pg_dump
	// truncates it and keeps the mode.
	path := filepath.Join(dir, backupDumpName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := runPG(ctx, cfg.Database.URL, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
		"--snapshot="+snapshot, "--file="+path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m.Database = backupFile{Path: backupDumpName}
	m.Database.Bytes, m.Database.SHA256, err = hashFile(path)
	return err
}

// copyObjects copies every object into dir/objects/<key>, four at a time.
// An original whose bytes do not match the SHA-256 recorded at intake
// fails the backup: it would restore something other than the evidence.
func copyObjects(ctx context.Context, store *media.Store, dir string, objs []backupObject) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range objs {
		o := &objs[i]
		g.Go(func() error {
			r, ct, err := store.Open(gctx, o.Key)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer r.Close()
			path := filepath.Join(dir, backupObjectsDir, filepath.FromSlash(o.Key))
			n, sum, err := writeHashed(path, r)
			if err != nil {
				return fmt.Errorf("backup: object %s: %w", o.Key, err)
			}
			if o.Original {
				if sum != o.SHA256 || n != o.Bytes {
					return fmt.Errorf("backup: object %s in S3 is %d bytes with SHA-256 %s, the database recorded %d bytes and %s",
						o.Key, n, sum, o.Bytes, o.SHA256)
				}
				return nil
			}
			o.Bytes, o.SHA256, o.ContentType = n, sum, ct
			return nil
		})
	}
	return g.Wait()
}

func writeManifest(dir string, m *backupManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, backupManifestName), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	return f.Close()
}

// writeHashed writes r to path (creating its directory) and returns the
// size and SHA-256 (hex) of what it wrote, synced to disk.
func writeHashed(path string, r io.Reader) (int64, string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func (m *backupManifest) summary() string {
	originals := 0
	for _, o := range m.Objects {
		if o.Original {
			originals++
		}
	}
	return fmt.Sprintf("database %d bytes (schema %d), %d objects (%d originals), %d incidents, %d reports, %d events",
		m.Database.Bytes, m.SchemaVersion, len(m.Objects), originals, m.Counts["incidents"], m.Counts["reports"], m.Counts["incident_events"])
}

// lockBackupDir takes an exclusive lock on dir (flock(2) on the directory
// itself, released when the process ends however it ends), so that one
// backup at a time writes there, and then deletes the incomplete backups
// (fieldgate-backup-<time>.tmp) that a run killed before its own cleanup
// left behind: they hold personal data, and --keep never counts them.
// Another backup holding the lock is an error naming dir.
func lockBackupDir(dir string, log *slog.Logger) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("backup: another backup is writing into %s; try again when it has finished", dir)
		}
		return nil, fmt.Errorf("backup: lock %s: %w", dir, err)
	}
	unlock = func() { d.Close() } // closing the last descriptor releases the lock
	entries, err := os.ReadDir(dir)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, e := range entries {
		name, tmp := strings.CutSuffix(e.Name(), ".tmp")
		if !e.IsDir() || !tmp || !isBackupName(name) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			// Another user's leftover (a backup run by hand as root): this
			// backup is still worth writing.
			log.Error("an incomplete backup of an interrupted run could not be deleted; delete it by hand, it holds personal data",
				"dir", e.Name(), "err", err)
			continue
		}
		log.Warn("incomplete backup of an interrupted run deleted", "dir", e.Name())
	}
	return unlock, nil
}

// backupTimeLayout is the time in a backup directory's name
// (fieldgate-backup-20261130T023000Z), UTC; the names sort by it.
const backupTimeLayout = "20060102T150405Z"

// isBackupName reports whether name is exactly what runBackup names a
// complete backup: the prefix and a valid time, nothing before or after.
// Only such directories are ever pruned.
func isBackupName(name string) bool {
	ts, ok := strings.CutPrefix(name, backupPrefix)
	if !ok {
		return false
	}
	t, err := time.Parse(backupTimeLayout, ts)
	return err == nil && t.Format(backupTimeLayout) == ts
}

// pruneBackups deletes all but the newest keep complete backups in dir
// (directories, not symbolic links, named exactly as runBackup names them;
// never current, the backup just written). Backups hold personal data:
// retention has to reach them too. A backup it cannot delete (another
// user's, made by hand as root) is logged as an error with its path and
// the reason and counted; the count is returned, and the caller's backup
// still stands.
func pruneBackups(dir string, keep int, current string, log *slog.Logger) (failures int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Error("old backups beyond --keep could not be listed, none deleted; they hold personal data", "dir", dir, "err", err)
		return 1
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && isBackupName(e.Name()) && e.Name() != current {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)        // the names sort by time
	for len(names) > keep-1 { // current is one of the keep
		path := filepath.Join(dir, names[0])
		if err := os.RemoveAll(path); err != nil {
			failures++
			log.Error("an old backup beyond --keep could not be deleted; it holds personal data: delete it by hand",
				"dir", path, "err", err)
		} else {
			log.Info("old backup deleted", "dir", path)
		}
		names = names[1:]
	}
	return failures
}
