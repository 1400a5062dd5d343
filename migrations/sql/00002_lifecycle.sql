-- +goose Up

-- Escalation runs in rounds: routing starts round 1, and every restart
-- (an acknowledged incident passing its ack timeout, a reassignment, an
-- unmerge) starts the next one. Escalation jobs carry their round, so a job
-- of an earlier round finds it stale and does nothing.
ALTER TABLE incidents
    ADD COLUMN escalation_round      int NOT NULL DEFAULT 0,
    ADD COLUMN escalation_started_at timestamptz,
    ADD COLUMN reject_reason         text NOT NULL DEFAULT '';
-- incidents_merged_into_idx and incidents_open_team_idx (duplicate search:
-- open incidents of a team, newest first) are built by 00023, CONCURRENTLY.

-- Who was alerted about an incident outside its team room (an on-call
-- person 1:1, a named person, a higher room). These may take the incident:
-- a person by answering the 1:1 alert, a room by "ok 42" in that room.
-- Personal data (JIDs): deleted with the incident by retention.
CREATE TABLE incident_alerts (
    incident_id uuid NOT NULL REFERENCES incidents(id),
    target      text NOT NULL, -- bare JID of a person or a room
    kind        text NOT NULL CHECK (kind IN ('person','room')),
    level       int NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (incident_id, target)
);

-- What retention keeps of deleted incidents: counts without personal data,
-- per month of creation, team, category, priority and final state.
CREATE TABLE incident_stats (
    month          date NOT NULL, -- first day of the month (UTC) the incident was created
    team           text NOT NULL,
    category       text NOT NULL,
    priority       text NOT NULL,
    final_state    text NOT NULL,
    incidents      int NOT NULL DEFAULT 0,
    reports        int NOT NULL DEFAULT 0,
    media          int NOT NULL DEFAULT 0,
    acknowledged   int NOT NULL DEFAULT 0, -- how many were ever acknowledged
    ack_seconds    bigint NOT NULL DEFAULT 0, -- sum of time to acknowledge, for the mean
    max_escalation int NOT NULL DEFAULT 0,
    PRIMARY KEY (month, team, category, priority, final_state)
);

-- +goose Down
DROP TABLE incident_stats;
DROP TABLE incident_alerts;
DROP INDEX IF EXISTS incidents_open_team_idx;
DROP INDEX IF EXISTS incidents_merged_into_idx;
ALTER TABLE incidents
    DROP COLUMN reject_reason,
    DROP COLUMN escalation_started_at,
    DROP COLUMN escalation_round;
