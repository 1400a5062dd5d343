-- +goose Up

-- Who answered "ok" for an incident whose policy needs more than one
-- confirmer (routing.Policy.Confirmers). The first confirmer becomes the
-- owner; the incident is acknowledged when enough different people have
-- confirmed in the same escalation round. Rows are per round, so every
-- restart (ack timeout, reassignment, unmerge) asks for fresh
-- confirmations without clearing anything. The key makes a second
-- confirmation by the same person impossible even outside Execute's row
-- lock. Personal data (JIDs): deleted with the incident.
CREATE TABLE incident_confirmations (
    incident_id uuid NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    round       int NOT NULL,
    actor       text NOT NULL, -- lower-case bare JID or "token:<name>"
    via         text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (incident_id, round, actor)
);

-- +goose Down
DROP TABLE incident_confirmations;
