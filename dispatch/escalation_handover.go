package dispatch

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Armed escalation steps
//
// Most incidents are acknowledged within minutes and never escalate, yet
// each needs its first escalation step to be durable from the moment it is
// accepted. Queuing that step as a job cost every new report a queue insert
// (river's job row with its indexes, and outside a transaction river's own
// BEGIN/INSERT/COMMIT): at 300 text reports/s a quarter of fieldgate's and
// a third of PostgreSQL's CPU per report (deploy/SCALING.md, fifth round).
// A first step due later than exactTimerHorizon is therefore armed on the
// incident (incidents.escalation_due_at, written by the statement that
// writes the incident anyway), and handOverEscalations, run by every
// replica's handOverLoop (handover.go) each second, queues it as the "escalate" job
// scheduled for its due time once that is within the horizon, clearing the
// column in the same transaction: a step is queued exactly once however
// many replicas hand over (rows locked FOR UPDATE SKIP LOCKED), and lost by
// no crash (until the commit it stays armed). The job is then an exact
// timer (exactTimers), so the step fires on time as before.
//
// The loop is its own, not the lease loop's: a replica whose worker lease
// cannot be renewed (its lease connection fails, the lease table is
// locked) still escalates, as the queue's jobs do. "Within the horizon"
// is judged by the later of the replica's clock and the database's: the
// job fires by the database's clock, so a replica whose clock lags does
// not hold a step back (once the replica that armed it is gone), and one
// whose clock runs ahead only queues earlier; the job carries the due time.

// armOnIncident reports whether a round's first step due after wait is
// armed on its incident rather than queued at once.
func armOnIncident(wait time.Duration) bool { return wait > exactTimerHorizon }

// handOverBatchEscalations is the most steps one handOverEscalations call
// queues.
const handOverBatchEscalations = 500

// handOverEscalations queues, as escalate jobs scheduled for their due
// time, the armed first steps (incidents.escalation_due_at) due within
// exactTimerHorizon of the later of the service's and the database's
// clock, and disarms them in the same transaction. It returns how many it
// queued. The job's worker decides, as for every step, whether the
// incident still escalates (still open, unacknowledged and in the same
// round).
func (s *Service) handOverEscalations(ctx context.Context) (int, error) {
	return s.handOverRows(ctx, "due escalation steps", `
		WITH due AS (
			SELECT id, escalation_round, escalation_due_at FROM incidents
			WHERE escalation_due_at <= greatest($1, now() + make_interval(secs => $3))
			ORDER BY escalation_due_at LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE incidents i SET escalation_due_at = NULL FROM due
		WHERE i.id = due.id
		RETURNING due.id, due.escalation_round, due.escalation_due_at`,
		[]any{s.now().Add(exactTimerHorizon), handOverBatchEscalations, exactTimerHorizon.Seconds()},
		func(row pgx.CollectableRow) (river.InsertManyParams, error) {
			var a escalateArgs
			var due time.Time
			if err := row.Scan(&a.IncidentID, &a.Round, &due); err != nil {
				return river.InsertManyParams{}, err
			}
			opts := a.InsertOpts()
			opts.ScheduledAt = due
			return river.InsertManyParams{Args: a, InsertOpts: &opts}, nil
		})
}
