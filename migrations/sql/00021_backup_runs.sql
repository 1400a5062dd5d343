-- +goose Up

-- One row per backup that `fieldgate backup` wrote and verified
-- (cmd/fieldgate/backup.go), so that every server can export when the last
-- one finished (fieldgate_backup_last_success_timestamp_seconds) and an
-- alert can say that backups stopped: a backup is a command started by a
-- timer, and nobody sees it fail. No personal data. Rows older than 400
-- days are deleted by the next backup.
CREATE TABLE backup_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finished_at    timestamptz NOT NULL,
    schema_version bigint NOT NULL,
    database_bytes bigint NOT NULL,
    objects        integer NOT NULL
);
CREATE INDEX backup_runs_finished_idx ON backup_runs (finished_at);

-- +goose Down
DROP TABLE backup_runs;
