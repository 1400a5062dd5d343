-- +goose Up

-- How many old backups beyond --keep the run could not delete
-- (cmd/fieldgate/backup.go pruneBackups: another user's directory, a
-- permission): the backup itself is complete and counts, and
-- fieldgate_backup_prune_failures, read from the newest row, tells
-- monitoring that personal data outlives --keep. backup_runs is small (one
-- row a night, 400 days at most). Replicas of the previous release do not
-- read it (expand only).
ALTER TABLE backup_runs ADD COLUMN prune_failures integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE backup_runs DROP COLUMN prune_failures;
