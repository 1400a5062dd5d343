-- +goose Up

-- A post that the routing process sends itself (dispatch/deliver.go,
-- postDirect) has no job in the queue: its record says when it is handed
-- to the queue if it is not recorded as sent by then (its process died).
-- NULL: a job has (or had) the post. Replicas of the previous release
-- queue a job for every post and leave it NULL (expand only).
ALTER TABLE room_posts ADD COLUMN handover_at timestamptz;
-- room_posts_handover_idx is built by 00023, CONCURRENTLY.

-- +goose Down
DROP INDEX IF EXISTS room_posts_handover_idx;
ALTER TABLE room_posts DROP COLUMN handover_at;
