-- +goose Up

-- When a device-list subscriber was last heard from (a subscription, a
-- presence probe or available presence with entity capabilities), so
-- that the OMEMO state kept about correspondents who stopped writing is
-- deleted after the retention period (gateway/omemo/retention.go). The
-- default keeps replicas of the previous release, which do not set it,
-- working (expand only).
ALTER TABLE omemo_subscribers ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();
UPDATE omemo_subscribers SET seen_at = subscribed_at;

-- +goose Down
ALTER TABLE omemo_subscribers DROP COLUMN seen_at;
