-- +goose Up

-- Photos whose GPS is only in XMP (exif:GPSLatitude/GPSLongitude) keep
-- that as their position source.
ALTER TABLE reports DROP CONSTRAINT reports_position_source_check;
ALTER TABLE reports ADD CONSTRAINT reports_position_source_check
    CHECK (position_source IN ('','exif','xmp','api','geo_uri','xep0080'));

-- A room post that corrects an earlier one (XEP-0308 Last Message
-- Correction) names the origin-id of the post it replaces.
ALTER TABLE room_posts ADD COLUMN replaces text;

-- Finding a sender's latest case quickly (grouping of parts):
-- reports_sender_incident_idx, built by 00023, CONCURRENTLY.

-- +goose Down
DROP INDEX IF EXISTS reports_sender_incident_idx;
ALTER TABLE room_posts DROP COLUMN replaces;
ALTER TABLE reports DROP CONSTRAINT reports_position_source_check;
ALTER TABLE reports ADD CONSTRAINT reports_position_source_check
    CHECK (position_source IN ('','exif','api','geo_uri','xep0080'));
