-- +goose Up

-- One row per running fieldgate process (its job-queue client id): the
-- process renews it every second. A job still "running" under a client
-- whose lease has expired was left by a process that died; the other
-- replicas, or the restarted one, hand it back to the queue within seconds
-- instead of waiting for the queue's generic stuck-job rescue (a minute).
-- No personal data.
CREATE TABLE worker_leases (
    client_id  text PRIMARY KEY,
    host       text NOT NULL,
    started_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE worker_leases;
