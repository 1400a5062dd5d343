package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Retention
//
// A closed incident (resolved, merged or rejected) whose last change is
// older than its category's retention period is deleted with everything
// personal about it: its reports (text, position, sender JID), their media
// objects in S3 (original, team copy and thumbnail), idempotency keys,
// room posts, alert records and the audit trail. What remains is one
// anonymous row per month, team, category, priority and final state in
// incident_stats (counts, time to acknowledge). Open incidents are never
// deleted. An incident that other (kept) incidents are merged into waits
// until they go too. S3 objects are deleted before the rows that name
// them (in the transaction that holds the incidents' locks), so a failure
// leaves rows to retry, never orphaned objects. While `fieldgate backup`
// runs (BackupLock) nothing is deleted: the backup copies the objects its
// snapshot names.
// Completed jobs of the message queue (which carry message bodies) are
// removed by river's job cleaner after CompletedJobRetention. Each run also deletes the
// language choices of senders with nothing left (language.go) and the
// console's expired login links and sessions.

// CompletedJobRetention is how long a completed job of the queue, with
// its arguments, is kept (river's job cleaner runs every 30 s).
const CompletedJobRetention = time.Hour

// BackupLock is the PostgreSQL advisory lock key that `fieldgate backup`
// holds (shared) from before its snapshot until it has copied the objects
// the snapshot names; retention deletes objects only while it can hold
// the lock exclusively.
const BackupLock int64 = 0x66676261636b7570 // "fgbackup"

// ErrBackupRunning is a retention run's error when a backup holds
// BackupLock: nothing more was deleted, the run has to come again.
var ErrBackupRunning = errors.New("retention: a backup is running")

// RetentionConfig says how long incidents are kept.
type RetentionConfig struct {
	// Default is the retention period for categories not listed. Default 180 days.
	Default time.Duration
	// Categories overrides Default per category: the rule's category, or
	// the team id when the rule sets none.
	Categories map[string]time.Duration
	// Interval between runs of the retention job. Default 24h; negative
	// disables the periodic job (`fieldgate retention run` still works).
	Interval time.Duration
	// Batch is how many incidents one transaction deletes. Default 50.
	Batch int
}

func (c RetentionConfig) withDefaults() RetentionConfig {
	c.Default = cmp.Or(c.Default, 180*24*time.Hour)
	c.Interval = cmp.Or(c.Interval, 24*time.Hour)
	c.Batch = cmp.Or(c.Batch, 50)
	return c
}

// RetainedIncident is one incident a retention run deleted (or, in a dry
// run, would delete).
type RetainedIncident struct {
	CaseNumber string
	State      State
	Team       string
	Category   string
	UpdatedAt  time.Time
	Reports    int
	Media      []string // S3 keys: originals, team copies, thumbnails
}

// RetentionResult is what a retention run did.
type RetentionResult struct {
	DryRun    bool
	Incidents []RetainedIncident
	// More is set when the run stopped at its time budget with work left.
	More bool
	// SenderLanguages counts the messenger senders' language choices
	// deleted (dispatch/language.go).
	SenderLanguages int64
	// ConsoleSignIns counts the expired console login links and sessions
	// deleted.
	ConsoleSignIns int64
	// UnsentMessages counts the 1:1 messages deleted from chat_outbox
	// still unsent UnsentChatMaxAge after they were written.
	UnsentMessages int64
}

// Objects counts the S3 objects in the result.
func (r RetentionResult) Objects() int {
	n := 0
	for _, i := range r.Incidents {
		n += len(i.Media)
	}
	return n
}

// RunRetention deletes what has passed its retention period; with dryRun
// it only lists it.
func (s *Service) RunRetention(ctx context.Context, dryRun bool) (RetentionResult, error) {
	return s.retention().Run(ctx, dryRun)
}

// RetentionMedia deletes stored objects.
type RetentionMedia interface {
	Delete(ctx context.Context, keys ...string) error
}

// Retention deletes closed incidents past their retention period. It
// needs only the database and the media store, so `fieldgate retention`
// runs it without a Service.
type Retention struct {
	pool  *pgxpool.Pool
	media RetentionMedia // nil: incidents with media are not deleted
	cfg   RetentionConfig
	now   func() time.Time
	log   *slog.Logger
}

// NewRetention returns a retention runner; zero cfg fields take their
// defaults, now nil is time.Now, logger nil is slog.Default().
func NewRetention(pool *pgxpool.Pool, m RetentionMedia, cfg RetentionConfig, now func() time.Time, logger *slog.Logger) *Retention {
	if now == nil {
		now = time.Now
	}
	return &Retention{pool: pool, media: m, cfg: cfg.withDefaults(), now: func() time.Time { return now().UTC() },
		log: cmp.Or(logger, slog.Default())}
}

// retention is the service's retention runner.
func (s *Service) retention() *Retention {
	var m RetentionMedia
	if s.media != nil {
		m = s.media
	}
	return &Retention{pool: s.pool, media: m, cfg: s.cfg.Retention, now: s.now, log: s.log}
}

// Run deletes what has passed its retention period; with dryRun it only
// lists it.
func (rt *Retention) Run(ctx context.Context, dryRun bool) (RetentionResult, error) {
	return rt.retain(ctx, dryRun, time.Time{})
}

type retentionCandidate struct {
	id       uuid.UUID
	merged   bool
	retained RetainedIncident
}

// retain runs retention until done or until the deadline (zero = none).
func (rt *Retention) retain(ctx context.Context, dryRun bool, deadline time.Time) (RetentionResult, error) {
	res := RetentionResult{DryRun: dryRun}
	gone := []uuid.UUID{} // not nil: NULL would match no report in retainSenderLanguages
	var backup error      // ErrBackupRunning, returned at the end
	cands, err := rt.retentionCandidates(ctx)
	if err != nil {
		return res, err
	}
	for len(cands) > 0 {
		if !deadline.IsZero() && time.Now().After(deadline) {
			res.More = true
			break
		}
		n := min(len(cands), rt.cfg.Batch)
		batch := cands[:n]
		cands = cands[n:]
		done, err := rt.retainBatch(ctx, batch, dryRun)
		if err == nil {
			for _, c := range batch {
				gone = append(gone, c.id)
			}
		}
		res.Incidents = append(res.Incidents, done...)
		if errors.Is(err, ErrBackupRunning) {
			// The rest waits for the next run; what does not touch
			// objects goes on.
			res.More, backup = true, err
			break
		}
		if err != nil {
			return res, err
		}
	}
	if res.SenderLanguages, err = rt.retainSenderLanguages(ctx, dryRun, gone); err != nil {
		return res, err
	}
	if res.ConsoleSignIns, err = rt.retainConsoleSignIns(ctx, dryRun); err != nil {
		return res, err
	}
	if res.UnsentMessages, err = rt.deleteWhere(ctx, dryRun, "chat_outbox", `created_at < $1`, rt.now().Add(-UnsentChatMaxAge)); err != nil {
		return res, fmt.Errorf("unsent chat messages: %w", err)
	}
	if len(res.Incidents) > 0 || res.SenderLanguages > 0 || res.ConsoleSignIns > 0 || res.UnsentMessages > 0 {
		rt.log.InfoContext(ctx, "retention", "dry_run", dryRun, "incidents", len(res.Incidents), "objects", res.Objects(),
			"sender_languages", res.SenderLanguages, "console_sign_ins", res.ConsoleSignIns, "unsent_messages", res.UnsentMessages,
			"more", res.More)
	}
	return res, backup
}

// UnsentChatMaxAge is how long a 1:1 message may wait in chat_outbox
// (outbox.go) before retention deletes it unsent. The queue gives a
// message up after about 70 minutes of attempts (retryPolicy) and deletes
// its row then, and a message waits at most chatOrderWait for an earlier
// one; a row left after a day is one no job will send (river discarded
// its job without running it: its process died during the last attempt),
// which holds the addressee's JID and the text for nothing, and a reply
// that late would only confuse. A job that still has it finds the row
// gone and sends nothing.
const UnsentChatMaxAge = 24 * time.Hour

// retainConsoleSignIns deletes the console's login links and sessions
// that have expired: they name a user, their roles and when they signed
// in, and an expired one is good for nothing (a link is refused after
// its expiry whether or not it was used).
func (rt *Retention) retainConsoleSignIns(ctx context.Context, dryRun bool) (int64, error) {
	var total int64
	for _, table := range []string{"console_login_links", "console_sessions"} {
		n, err := rt.deleteWhere(ctx, dryRun, table, `expires_at < $1`, rt.now())
		if err != nil {
			return total, fmt.Errorf("expired %s: %w", table, err)
		}
		total += n
	}
	return total, nil
}

// deleteWhere deletes the rows of from (a table, with an alias if where
// uses one) that match where, or with dryRun counts them.
func (rt *Retention) deleteWhere(ctx context.Context, dryRun bool, from, where string, args ...any) (int64, error) {
	if dryRun {
		var n int64
		if err := rt.pool.QueryRow(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("count: %w", err)
		}
		return n, nil
	}
	tag, err := rt.pool.Exec(ctx, `DELETE FROM `+from+` WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("delete: %w", err)
	}
	return tag.RowsAffected(), nil
}

// retentionCandidates lists closed incidents past their period, merged
// ones first (they reference the others), leaving out incidents that a
// kept incident is merged into.
func (rt *Retention) retentionCandidates(ctx context.Context) ([]retentionCandidate, error) {
	cfg := rt.cfg
	cats := make([]string, 0, len(cfg.Categories))
	secs := make([]int64, 0, len(cfg.Categories))
	for c, d := range cfg.Categories {
		cats = append(cats, c)
		secs = append(secs, int64(d/time.Second))
	}
	rows, err := rt.pool.Query(ctx, `
		WITH p(cat, secs) AS (SELECT * FROM unnest($1::text[], $2::bigint[]))
		SELECT i.id, i.case_number, i.state, coalesce(i.team, ''), coalesce(nullif(i.category, ''), i.team, ''),
		       i.updated_at, i.merged_into IS NOT NULL,
		       (SELECT count(*) FROM reports r WHERE r.incident_id = i.id)
		FROM incidents i
		LEFT JOIN p ON p.cat = coalesce(nullif(i.category, ''), i.team, '')
		WHERE i.state IN ('resolved','merged','rejected')
		  AND i.updated_at < $3::timestamptz - make_interval(secs => coalesce(p.secs, $4))
		ORDER BY i.merged_into IS NULL, i.updated_at`,
		cats, secs, rt.now(), int64(cfg.Default/time.Second))
	if err != nil {
		return nil, fmt.Errorf("retention candidates: %w", err)
	}
	var cands []retentionCandidate
	for rows.Next() {
		var c retentionCandidate
		r := &c.retained
		if err := rows.Scan(&c.id, &r.CaseNumber, &r.State, &r.Team, &r.Category, &r.UpdatedAt, &c.merged, &r.Reports); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan retention candidate: %w", err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention candidates: %w", err)
	}
	// Keep every incident that a kept incident is merged into, until stable
	// (merges are one level deep, so this settles at once).
	for {
		ids := make([]uuid.UUID, len(cands))
		for i, c := range cands {
			ids[i] = c.id
		}
		var blocked []uuid.UUID
		if err := rt.pool.QueryRow(ctx, `
			SELECT coalesce(array_agg(DISTINCT merged_into), '{}') FROM incidents
			WHERE merged_into = ANY($1) AND NOT (id = ANY($1))`, ids).Scan(&blocked); err != nil {
			return nil, fmt.Errorf("retention merge check: %w", err)
		}
		if len(blocked) == 0 {
			return cands, nil
		}
		cands = slices.DeleteFunc(cands, func(c retentionCandidate) bool { return slices.Contains(blocked, c.id) })
	}
}

// retainBatch deletes one batch in one transaction: it locks the
// incidents that are still closed (a merged duplicate can be unmerged at
// any time), deletes their media objects and then their rows, keeping
// statistics. The lock is held while the objects are deleted, so an
// unmerge waits and then finds the case gone instead of reopening a case
// whose photos are gone. A failed delete rolls back the rows; objects
// already deleted stay deleted and the next run deletes the rows.
func (rt *Retention) retainBatch(ctx context.Context, batch []retentionCandidate, dryRun bool) ([]RetainedIncident, error) {
	ids := make([]uuid.UUID, len(batch))
	for i := range batch {
		ids[i] = batch[i].id
	}
	if dryRun {
		return rt.retainedWithMedia(ctx, rt.pool, batch, ids)
	}
	var out []RetainedIncident
	err := pgx.BeginFunc(ctx, rt.pool, func(tx pgx.Tx) error {
		var free bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, BackupLock).Scan(&free); err != nil {
			return fmt.Errorf("retention: backup lock: %w", err)
		}
		if !free {
			return ErrBackupRunning
		}
		var locked []uuid.UUID
		if err := tx.QueryRow(ctx, `
			SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM incidents
			WHERE id = ANY($1) AND state IN ('resolved','merged','rejected') FOR UPDATE) l`, ids).Scan(&locked); err != nil {
			return fmt.Errorf("lock incidents: %w", err)
		}
		var err error
		if out, err = rt.retainedWithMedia(ctx, tx, batch, locked); err != nil {
			return err
		}
		var keys []string
		for _, inc := range out {
			keys = append(keys, inc.Media...)
		}
		if len(keys) > 0 {
			if rt.media == nil {
				return fmt.Errorf("retention: %d media objects to delete but no media store configured", len(keys))
			}
			if err := rt.media.Delete(ctx, keys...); err != nil {
				return fmt.Errorf("retention: delete media: %w", err)
			}
		}
		return retainRows(ctx, tx, locked)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// retainedWithMedia returns the incidents of batch whose id is in ids,
// in batch order, each with the S3 keys of its reports' media.
func (rt *Retention) retainedWithMedia(ctx context.Context, q rowQuerier, batch []retentionCandidate, ids []uuid.UUID) ([]RetainedIncident, error) {
	byID := make(map[uuid.UUID]*RetainedIncident, len(ids))
	for i := range batch {
		if slices.Contains(ids, batch[i].id) {
			byID[batch[i].id] = &batch[i].retained
		}
	}
	rows, err := q.Query(ctx, `
		SELECT r.incident_id, m.object_key, coalesce(m.derivative_key, ''), coalesce(m.thumb_key, '')
		FROM media_objects m JOIN reports r ON r.id = m.report_id
		WHERE r.incident_id = ANY($1) ORDER BY m.created_at, m.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("retention media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var k [3]string
		if err := rows.Scan(&id, &k[0], &k[1], &k[2]); err != nil {
			return nil, fmt.Errorf("scan retention media: %w", err)
		}
		for _, key := range k {
			if key != "" {
				byID[id].Media = append(byID[id].Media, key)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention media: %w", err)
	}
	out := make([]RetainedIncident, 0, len(byID))
	for i := range batch {
		if r, ok := byID[batch[i].id]; ok {
			out = append(out, *r)
		}
	}
	return out, nil
}

// retainRows deletes the locked incidents' rows, adding them to the
// anonymous statistics first.
func retainRows(ctx context.Context, tx pgx.Tx, locked []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO incident_stats AS s (month, team, category, priority, final_state, incidents, reports, media,
		                                 acknowledged, ack_seconds, max_escalation)
		SELECT date_trunc('month', i.created_at AT TIME ZONE 'UTC')::date, coalesce(i.team, ''),
		       coalesce(nullif(i.category, ''), i.team, ''), i.priority, i.state, count(*),
		       sum((SELECT count(*) FROM reports r WHERE r.incident_id = i.id)),
		       sum((SELECT count(*) FROM media_objects m JOIN reports r ON r.id = m.report_id WHERE r.incident_id = i.id)),
		       count(t.first_take), coalesce(sum(extract(epoch FROM t.first_take - i.created_at))::bigint, 0),
		       max(i.escalation_level)
		FROM incidents i
		LEFT JOIN LATERAL (SELECT min(at) AS first_take FROM incident_events e
		                   WHERE e.incident_id = i.id AND e.kind = 'take') t ON true
		WHERE i.id = ANY($1)
		GROUP BY 1, 2, 3, 4, 5
		ON CONFLICT (month, team, category, priority, final_state) DO UPDATE SET
		  incidents = s.incidents + excluded.incidents, reports = s.reports + excluded.reports,
		  media = s.media + excluded.media, acknowledged = s.acknowledged + excluded.acknowledged,
		  ack_seconds = s.ack_seconds + excluded.ack_seconds,
		  max_escalation = greatest(s.max_escalation, excluded.max_escalation)`, locked); err != nil {
		return fmt.Errorf("retention statistics: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM incident_events WHERE incident_id = ANY($1)`,
		`DELETE FROM room_posts WHERE incident_id = ANY($1)`,
		`DELETE FROM incident_alerts WHERE incident_id = ANY($1)`,
		`DELETE FROM reports WHERE incident_id = ANY($1)`, // media_objects, idempotency_keys cascade
		`DELETE FROM incidents WHERE id = ANY($1)`,
	} {
		if _, err := tx.Exec(ctx, q, locked); err != nil {
			return fmt.Errorf("retention delete: %w", err)
		}
	}
	return nil
}

// retentionArgs is one retention run; Seq counts continuations of a run
// that stopped at its time budget.
type retentionArgs struct {
	Seq int `json:"seq"`
}

func (retentionArgs) Kind() string { return "retention" }

type retentionWorker struct {
	river.WorkerDefaults[retentionArgs]
	s *Service
}

// retentionBackupWait is how long the retention job waits when a backup
// is running.
const retentionBackupWait = 10 * time.Minute

// retentionBudget keeps a run well inside the job timeout, so the stuck
// job rescuer never starts a second copy while one is still deleting.
const retentionBudget = 20 * time.Second

func (w *retentionWorker) Timeout(*river.Job[retentionArgs]) time.Duration {
	return retentionBudget + 10*time.Second
}

func (w *retentionWorker) Work(ctx context.Context, job *river.Job[retentionArgs]) error {
	res, err := w.s.retention().retain(ctx, false, time.Now().Add(retentionBudget))
	if errors.Is(err, ErrBackupRunning) {
		w.s.log.InfoContext(ctx, "retention waits for a backup", "again_in", retentionBackupWait)
		return river.JobSnooze(retentionBackupWait)
	}
	if err != nil {
		return err
	}
	if res.More {
		if _, err := w.s.queue.Insert(ctx, retentionArgs{Seq: job.Args.Seq + 1}, nil); err != nil {
			return fmt.Errorf("continue retention: %w", err)
		}
	}
	return nil
}

func (s *Service) periodicJobs() []*river.PeriodicJob {
	if s.cfg.Retention.Interval < 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(s.cfg.Retention.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return retentionArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		},
		// river keeps a periodic schedule in the leader's memory, so a
		// process restarted more often than the interval would never get
		// there: run once whenever a leader starts (unique per hour).
		&river.PeriodicJobOpts{ID: "retention", RunOnStart: true},
	)}
}
