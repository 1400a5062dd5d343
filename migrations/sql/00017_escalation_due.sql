-- +goose Up

-- The first step of an incident's escalation round, when it is due later
-- than dispatch's exact-timer horizon (a minute), is armed on the incident
-- instead of being queued: the intake's batch writes it with the incident,
-- and a replica hands it to the queue (an "escalate" job scheduled for
-- this time) about a minute before it is due, clearing it in the same
-- transaction (dispatch/escalation_handover.go). NULL: nothing armed (no
-- policy, a short first delay queued at once, or handed over). Replicas of
-- the previous release queue the job at once and leave it NULL (expand
-- only).
ALTER TABLE incidents ADD COLUMN escalation_due_at timestamptz;
-- incidents_escalation_due_idx is built by 00023, CONCURRENTLY.

-- +goose Down
-- Steps still armed are queued first (river's job table, as an insert from
-- SQL: state scheduled, no unique key), so that a release without the
-- column still escalates them.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('river_job') IS NOT NULL THEN
        INSERT INTO river_job (args, kind, max_attempts, queue, scheduled_at, state)
        SELECT jsonb_build_object('incident_id', id, 'round', escalation_round, 'level', 0, 'repeat', 0),
               'escalate', 25, 'escalation', escalation_due_at, 'scheduled'
        FROM incidents WHERE escalation_due_at IS NOT NULL;
    END IF;
END $$;
-- +goose StatementEnd
DROP INDEX IF EXISTS incidents_escalation_due_idx;
ALTER TABLE incidents DROP COLUMN escalation_due_at;
