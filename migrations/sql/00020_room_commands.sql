-- +goose Up

-- Room commands ("ok 42", a 👍, a reply) by the room's stanza-id
-- (XEP-0359), claimed before they are carried out, so that each is
-- carried out once: live by the gateway that is in the room, or from the
-- room's history by the one that joins next (a command written while no
-- gateway was in the room: a fail-over, the XMPP server restarting).
-- Room and id only, no personal data; claims older than an hour are
-- deleted by the next claim (a joining gateway reads 5 minutes of archive).
CREATE TABLE room_commands (
    room       text NOT NULL,
    stanza_id  text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room, stanza_id)
);
CREATE INDEX room_commands_claimed_at ON room_commands (claimed_at);
-- Commands written before this table existed were carried out by a
-- gateway that claimed nothing: a joining gateway reads none of them from
-- the archive (the row with room '' holds when the claims began).
INSERT INTO room_commands (room, stanza_id) VALUES ('', 'claims-since');

-- +goose Down
DROP TABLE room_commands;
