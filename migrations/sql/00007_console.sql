-- +goose Up

-- Every replica's event stream (GET /api/v1/events) learns of changes from
-- here: an inserted audit event notifies channel fieldgate_incident_events
-- with "<event id>,<incident id>" when its transaction commits, so an event
-- that is rolled back is never announced. Listeners load the incident
-- themselves and filter by what each viewer may see.
-- +goose StatementBegin
CREATE FUNCTION incident_events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('fieldgate_incident_events', NEW.id::text || ',' || NEW.incident_id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER incident_events_notify AFTER INSERT ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_notify();

-- Console lists page newest first (keyset paging on created_at, id):
-- incidents_created_idx, built by 00023, CONCURRENTLY.

-- Signed-in console users. Only a SHA-256 of the cookie's secret is
-- stored; subject is the OIDC subject, the login link's user or the API
-- token's name (personal data: deleted when the session expires).
CREATE TABLE console_sessions (
    hash         bytea PRIMARY KEY,
    subject      text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    roles        text[] NOT NULL,
    method       text NOT NULL CHECK (method IN ('oidc','link','token')),
    language     text NOT NULL DEFAULT 'de',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- One-time login links made by `fieldgate console-login USER`: only a
-- SHA-256 of the link's secret is stored; a link works once, briefly.
CREATE TABLE console_login_links (
    hash       bytea PRIMARY KEY,
    subject    text NOT NULL,
    roles      text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- +goose Down
DROP TABLE console_login_links;
DROP TABLE console_sessions;
DROP INDEX IF EXISTS incidents_created_idx;
DROP TRIGGER incident_events_notify ON incident_events;
DROP FUNCTION incident_events_notify();
