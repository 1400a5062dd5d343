-- +goose Up

-- A report with attachments that is not a messenger message is processed
-- right after its intake commit by the process that took it
-- (dispatch/direct.go) and has no job in the queue: its row says when it
-- is handed to the queue (a process_report job) if it is not processed by
-- then (its process died or hung). The time is the database's clock;
-- NULL: a job has (or had) the report, or it needs none. Replicas of the
-- previous release queue a job for every report and leave it NULL
-- (expand only).
ALTER TABLE reports ADD COLUMN processing_handover_at timestamptz;
-- reports_processing_handover_idx is built by 00023, CONCURRENTLY.

-- +goose Down
DROP INDEX IF EXISTS reports_processing_handover_idx;
ALTER TABLE reports DROP COLUMN processing_handover_at;
