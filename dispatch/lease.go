package dispatch

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
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

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
