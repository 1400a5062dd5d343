-- +goose NO TRANSACTION
-- +goose Up

-- Indexes on tables that grow with a town's cases (incidents, reports,
-- room_posts, …) are built CONCURRENTLY: a plain CREATE INDEX holds a lock
-- that stops every write to the table for the whole build (and, after an
-- ALTER TABLE in the same transaction, every read too), seconds to
-- minutes on a large table during an upgrade. CONCURRENTLY cannot run in
-- a transaction, hence NO TRANSACTION: goose runs each statement on its
-- own and records the migration only when all succeeded.
--
-- These seven indexes were built inside the transactions of 00002, 00006,
-- 00007, 00016, 00017 and 00018. Those now only change columns; a
-- database that applied them as they were has the indexes already, with
-- the same names and definitions, so IF NOT EXISTS makes this a no-op
-- there: the resulting schema is the same either way.
--
-- Interrupted (lock_timeout while a long transaction runs, a crash, a
-- cancel), CREATE INDEX CONCURRENTLY leaves an INVALID index behind, which
-- IF NOT EXISTS would then skip for good. migrations.Up therefore rebuilds
-- every INVALID index after the migrations (rebuildInvalidIndexes), so an
-- interrupted run is completed by the next one.
--
-- The pattern for every new index on an existing table: a migration of its
-- own marked NO TRANSACTION (as the first line here) with
-- CREATE INDEX CONCURRENTLY IF NOT EXISTS (TestIndexesOnExistingTablesAreConcurrent).
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_merged_into_idx ON incidents (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_open_team_idx ON incidents (team, created_at)
    WHERE state NOT IN ('resolved','merged','rejected');
CREATE INDEX CONCURRENTLY IF NOT EXISTS reports_sender_incident_idx ON reports (channel, sender, address, incident_id, received_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_created_idx ON incidents (created_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS room_posts_handover_idx ON room_posts (handover_at)
    WHERE posted_at IS NULL AND handover_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_escalation_due_idx ON incidents (escalation_due_at)
    WHERE escalation_due_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS reports_processing_handover_idx ON reports (processing_handover_at)
    WHERE processed_at IS NULL AND processing_handover_at IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS reports_processing_handover_idx;
DROP INDEX CONCURRENTLY IF EXISTS incidents_escalation_due_idx;
DROP INDEX CONCURRENTLY IF EXISTS room_posts_handover_idx;
DROP INDEX CONCURRENTLY IF EXISTS incidents_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS reports_sender_incident_idx;
DROP INDEX CONCURRENTLY IF EXISTS incidents_open_team_idx;
DROP INDEX CONCURRENTLY IF EXISTS incidents_merged_into_idx;
