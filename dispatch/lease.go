package dispatch

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// A job that was running when its process died stays "running" in the
// queue until river's stuck-job rescue notices it, a minute later (it
// cannot tell a dead worker from a slow one). Every process therefore
// holds a lease (worker_leases) under its queue client id, which river
// writes into each job it fetches (attempted_by), and renews it every
// second over a connection of its own. Any process whose own lease has
// been renewed without a gap for a whole LeaseTTL hands the running jobs
// of an expired lease back to the queue; the queue's own rescue stays as
// the backstop.

// A job can also be left "running" under a live process: when the
// database went away while the job ran (a restart, a failover), the
// queue's completion of the finished job is lost. The process knows which
// jobs it really has in hand (jobsInHand, a queue hook); running jobs in
// the database under its own id that it does not have are handed back.

// jobsInHand tracks the jobs this process is working, and those it
// finished recently (their completion may still be on its way).
type jobsInHand struct {
	river.HookDefaults
	mu      sync.Mutex
	running map[int64]bool
	ended   map[int64]time.Time
}

var (
	_ rivertype.HookWorkBegin = (*jobsInHand)(nil)
	_ rivertype.HookWorkEnd   = (*jobsInHand)(nil)
)

func newJobsInHand() *jobsInHand {
	return &jobsInHand{running: map[int64]bool{}, ended: map[int64]time.Time{}}
}

func (h *jobsInHand) WorkBegin(_ context.Context, job *rivertype.JobRow) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running[job.ID] = true
	return nil
}

func (h *jobsInHand) WorkEnd(_ context.Context, job *rivertype.JobRow, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.running, job.ID)
	h.ended[job.ID] = time.Now()
	return err
}

// lost returns those of ids that this process neither works nor finished
// within grace, and forgets finishes older than grace.
func (h *jobsInHand) lost(ids []int64, grace time.Duration) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, at := range h.ended {
		if time.Since(at) > grace {
			delete(h.ended, id)
		}
	}
	var out []int64
	for _, id := range ids {
		if _, ended := h.ended[id]; !h.running[id] && !ended {
			out = append(out, id)
		}
	}
	return out
}

// leaseLoop renews this process's lease and reclaims the jobs of expired
// leases until ctx ends, then marks the lease expired so that survivors
// reclaim anything left at once.
func (s *Service) leaseLoop(ctx context.Context) {
	id, host := s.queue.ID(), hostname()
	ttl := s.cfg.LeaseTTL
	tick := time.NewTicker(s.cfg.LeaseRenewInterval)
	defer tick.Stop()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_, _ = conn.Exec(cctx, `UPDATE worker_leases SET renewed_at = '-infinity' WHERE client_id = $1`, id)
			_ = conn.Close(cctx)
			cancel()
		}
	}()
	var healthySince time.Time // first renewal after the last failure
	for {
		if conn == nil || conn.IsClosed() {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseRenewInterval*2)
			c, err := pgx.ConnectConfig(cctx, s.pool.Config().ConnConfig.Copy())
			cancel()
			if err == nil {
				conn = c
			}
		}
		if conn != nil {
			if err := s.renewLease(ctx, conn, id, host); err != nil {
				if ctx.Err() != nil {
					return
				}
				healthySince = time.Time{}
				_ = conn.Close(context.Background())
				conn = nil
				s.log.WarnContext(ctx, "renewing the worker lease failed", "err", err)
			} else {
				if healthySince.IsZero() {
					healthySince = time.Now()
				}
				// Only a process that has renewed its own lease for a whole
				// TTL may judge others': after a database outage every lease
				// looks expired until its holder had its chance to renew.
				if time.Since(healthySince) >= ttl {
					if err := s.reclaimExpired(ctx, conn, id); err != nil && ctx.Err() == nil {
						s.log.WarnContext(ctx, "reclaiming jobs of dead workers failed", "err", err)
					}
					if err := s.reclaimLost(ctx, conn, id); err != nil && ctx.Err() == nil {
						s.log.WarnContext(ctx, "reclaiming jobs whose completion was lost failed", "err", err)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Service) renewLease(ctx context.Context, conn *pgx.Conn, id, host string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseTTL/2)
	defer cancel()
	_, err := conn.Exec(rctx, `
		INSERT INTO worker_leases (client_id, host, started_at, renewed_at) VALUES ($1, $2, now(), now())
		ON CONFLICT (client_id) DO UPDATE SET renewed_at = now()`, id, host)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return nil
}

// reclaimExpired makes the running jobs of expired leases available again
// (or discards those out of attempts, as river's rescue does), noting the
// reason in the job's errors, and forgets leases long dead.
func (s *Service) reclaimExpired(ctx context.Context, conn *pgx.Conn, self string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseTTL)
	defer cancel()
	ttl := s.cfg.LeaseTTL.Seconds()
	rows, err := conn.Query(rctx, `
		WITH dead AS (
			SELECT client_id FROM worker_leases
			WHERE client_id <> $1 AND renewed_at < now() - make_interval(secs => $2)
		), stuck AS (
			SELECT j.id FROM river_job j
			WHERE j.state = 'running' AND j.attempted_by[array_upper(j.attempted_by, 1)] IN (SELECT client_id FROM dead)
			FOR UPDATE OF j SKIP LOCKED
		)
		UPDATE river_job j SET
			state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::river_job_state ELSE 'available'::river_job_state END,
			finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
			scheduled_at = now(),
			errors = array_append(coalesce(j.errors, '{}'::jsonb[]), jsonb_build_object(
				'at', now(), 'attempt', j.attempt, 'trace', '',
				'error', 'reclaimed: the worker '||j.attempted_by[array_upper(j.attempted_by, 1)]||' stopped renewing its lease'))
		FROM stuck WHERE j.id = stuck.id
		RETURNING j.id, j.kind, j.attempt, j.state::text`, self, ttl)
	if err != nil {
		return fmt.Errorf("reclaim jobs: %w", err)
	}
	type reclaimed struct {
		id      int64
		kind    string
		attempt int
		state   string
	}
	var got []reclaimed
	for rows.Next() {
		var r reclaimed
		if err := rows.Scan(&r.id, &r.kind, &r.attempt, &r.state); err != nil {
			rows.Close()
			return fmt.Errorf("reclaim jobs: %w", err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reclaim jobs: %w", err)
	}
	for _, r := range got {
		s.log.WarnContext(ctx, "job of a dead worker reclaimed", "job", r.id, "kind", r.kind, "attempt", r.attempt, "state", r.state)
		s.metric.reclaimed.WithLabelValues(r.kind).Inc()
	}
	// Leases dead for an hour with nothing left running are history.
	if _, err := conn.Exec(rctx, `
		DELETE FROM worker_leases l WHERE renewed_at < now() - interval '1 hour'
		AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.state = 'running'
			AND j.attempted_by[array_upper(j.attempted_by, 1)] = l.client_id)`); err != nil {
		return fmt.Errorf("forget old leases: %w", err)
	}
	return nil
}

// reclaimLost hands back jobs "running" under this process's own id for
// longer than the lease TTL that it does not have in hand: their worker
// finished, but the queue never heard (the database was away).
func (s *Service) reclaimLost(ctx context.Context, conn *pgx.Conn, self string) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseTTL)
	defer cancel()
	rows, err := conn.Query(rctx, `SELECT id FROM river_job WHERE state = 'running'
		AND attempted_by[array_upper(attempted_by, 1)] = $1 AND attempted_at < now() - make_interval(secs => $2)`,
		self, s.cfg.LeaseTTL.Seconds())
	if err != nil {
		return fmt.Errorf("find lost jobs: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("find lost jobs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find lost jobs: %w", err)
	}
	lost := s.inHand.lost(ids, s.cfg.LeaseTTL)
	if len(lost) == 0 {
		return nil
	}
	tag, err := conn.Exec(rctx, `
		UPDATE river_job j SET
			state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::river_job_state ELSE 'available'::river_job_state END,
			finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
			scheduled_at = now(),
			errors = array_append(coalesce(j.errors, '{}'::jsonb[]), jsonb_build_object(
				'at', now(), 'attempt', j.attempt, 'trace', '',
				'error', 'reclaimed: finished or abandoned by its worker, but never completed in the queue'))
		WHERE j.id = ANY($1) AND j.state = 'running' AND j.attempted_by[array_upper(j.attempted_by, 1)] = $2`, lost, self)
	if err != nil {
		return fmt.Errorf("reclaim lost jobs: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		s.log.WarnContext(ctx, "jobs whose completion was lost handed back to the queue", "jobs", n)
		s.metric.reclaimed.WithLabelValues("lost_completion").Add(float64(n))
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
