-- +goose Up

-- Open311 GeoReport v2 (api/open311): reports may arrive through the
-- Open311 endpoint, and carry the structured fields a channel collected:
-- the values of the service definition's attributes, the free-text
-- address_string, and contact data only where the town's configuration
-- allows storing it (open311.store_contact). Personal data: deleted with
-- the report by retention.
ALTER TABLE reports DROP CONSTRAINT reports_channel_check;
ALTER TABLE reports ADD CONSTRAINT reports_channel_check CHECK (channel IN ('api','xmpp','open311'));
ALTER TABLE reports ADD COLUMN attributes jsonb;

-- +goose Down
ALTER TABLE reports DROP COLUMN attributes;
ALTER TABLE reports DROP CONSTRAINT reports_channel_check;
ALTER TABLE reports ADD CONSTRAINT reports_channel_check CHECK (channel IN ('api','xmpp'));
