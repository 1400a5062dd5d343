package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/fieldgate/fieldgate/media"
)

// The orphan sweep. An object is written to S3 before the report that
// names it commits; if the request then fails (client gone, database or
// store down, process killed), its cleanup delete may fail too or never
// run, and the object would stay forever: retention works from rows. The
// sweep lists objects under orig/ and team/ older than a grace period and
// deletes those no media_objects row references. Failed cleanups are also
// retried at once through the queue (DiscardObjects).

// SweepConfig tunes the orphan sweep. Zero values take the defaults.
type SweepConfig struct {
	// Interval between sweeps (a periodic job; also once at start-up of
	// the queue leader). Default 1h; negative disables the periodic sweep.
	Interval time.Duration
	// Grace: only objects older than this are judged, so that an upload
	// whose report has not committed yet is never touched. Default 1h.
	Grace time.Duration
	// Batch is how many keys are checked against the database at once. Default 500.
	Batch int
}

func (c SweepConfig) withDefaults() SweepConfig {
	if c.Interval == 0 {
		c.Interval = time.Hour
	}
	if c.Grace <= 0 {
		c.Grace = time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	return c
}

// SweepResult says what a sweep found (and, unless a dry run, deleted).
type SweepResult struct {
	Checked  int      // objects older than the grace period
	Orphans  int      // of those, referenced by no row
	Deleted  int      // orphans deleted (0 in a dry run)
	Examples []string // up to 20 orphan keys, for the operator
}

// SweepOrphans finds objects under orig/ and team/ older than the grace
// period that no row references and deletes them (dryRun: only counts and
// lists them). Errors of the store or the database end the sweep with an
// error; what was deleted until then stays deleted.
func (s *Service) SweepOrphans(ctx context.Context, dryRun bool) (SweepResult, error) {
	var res SweepResult
	if s.media == nil {
		return res, fmt.Errorf("sweep: no media store configured")
	}
	cutoff := s.now().Add(-s.cfg.Sweep.Grace)
	for _, prefix := range []string{media.PrefixOriginal, media.PrefixTeam} {
		err := s.media.ListOlder(ctx, prefix, cutoff, s.cfg.Sweep.Batch, func(keys []string) error {
			res.Checked += len(keys)
			orphans, err := s.unreferenced(ctx, keys)
			if err != nil {
				return err
			}
			res.Orphans += len(orphans)
			for _, k := range orphans {
				if len(res.Examples) < 20 {
					res.Examples = append(res.Examples, k)
				}
			}
			if dryRun || len(orphans) == 0 {
				return nil
			}
			if err := s.media.Delete(ctx, orphans...); err != nil {
				return fmt.Errorf("sweep: delete orphans: %w", err)
			}
			res.Deleted += len(orphans)
			s.metric.orphansDeleted.Add(float64(len(orphans)))
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("sweep %s: %w", prefix, err)
		}
	}
	return res, nil
}

// unreferenced returns the keys that are neither an original, a team copy
// nor a thumbnail of any media_objects row.
func (s *Service) unreferenced(ctx context.Context, keys []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT k FROM unnest($1::text[]) AS k
		WHERE k NOT IN (SELECT object_key FROM media_objects WHERE object_key = ANY($1))
		  AND k NOT IN (SELECT derivative_key FROM media_objects WHERE derivative_key = ANY($1))
		  AND k NOT IN (SELECT thumb_key FROM media_objects WHERE thumb_key = ANY($1))`, keys)
	if err != nil {
		return nil, fmt.Errorf("sweep: check references: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sweep: check references: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sweep: check references: %w", err)
	}
	return out, nil
}

// DiscardObjects deletes objects written for a request that did not
// commit, as far as its caller knows: a commit whose answer was lost (the
// database restarted) may have stored the report after all, so only keys
// no row references are deleted. If that cannot be checked now, or the
// store refuses, the delete is queued for a minute later (the job checks
// again); if even that fails (database down), the sweep finds them.
func (s *Service) DiscardObjects(ctx context.Context, keys ...string) {
	if len(keys) == 0 || s.media == nil {
		return
	}
	orphans, err := s.unreferenced(ctx, keys)
	if err == nil {
		if len(orphans) == 0 {
			return
		}
		if err = s.media.Delete(ctx, orphans...); err == nil {
			return
		}
	}
	s.log.WarnContext(ctx, "deleting objects of an uncommitted request failed; queued for retry", "objects", len(keys), "err", err)
	if _, qerr := s.queue.Insert(ctx, deleteObjectsArgs{Keys: keys}, &river.InsertOpts{ScheduledAt: s.now().Add(time.Minute)}); qerr != nil {
		s.log.ErrorContext(ctx, "queueing the delete failed too; the orphan sweep will remove them", "objects", len(keys), "err", qerr)
	}
}

// deleteObjectsArgs: delete objects of a request that did not commit.
type deleteObjectsArgs struct {
	Keys []string `json:"keys"`
}

func (deleteObjectsArgs) Kind() string                 { return "delete_objects" }
func (deleteObjectsArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueDefault} }

type deleteObjectsWorker struct {
	river.WorkerDefaults[deleteObjectsArgs]
	s *Service
}

func (w *deleteObjectsWorker) Work(ctx context.Context, job *river.Job[deleteObjectsArgs]) error {
	if w.s.media == nil {
		return nil
	}
	// Never delete what a row references by now (a retried intake may have
	// committed the same upload).
	orphans, err := w.s.unreferenced(ctx, job.Args.Keys)
	if err != nil {
		return err
	}
	if len(orphans) == 0 {
		return nil
	}
	return w.s.media.Delete(ctx, orphans...)
}

// sweepArgs: the periodic orphan sweep.
type sweepArgs struct{}

func (sweepArgs) Kind() string                 { return "media_sweep" }
func (sweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueDefault} }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return 30 * time.Minute }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	res, err := w.s.SweepOrphans(ctx, false)
	w.s.log.InfoContext(ctx, "orphan sweep", "checked", res.Checked, "orphans", res.Orphans, "deleted", res.Deleted, "err", err)
	return err
}

func (s *Service) sweepJobs() []*river.PeriodicJob {
	if s.cfg.Sweep.Interval < 0 || s.media == nil {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(s.cfg.Sweep.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return sweepArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: s.cfg.Sweep.Interval}}
		},
		&river.PeriodicJobOpts{ID: "media_sweep", RunOnStart: true},
	)}
}
