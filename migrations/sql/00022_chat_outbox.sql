-- +goose Up

-- A 1:1 message from a function address (a reporter's "Meldung … angenommen",
-- a status message) that the committing process sends itself right after
-- its commit (dispatch/outbox.go): the row is written in the transaction
-- that decides the message, deleted once the message is out, and holds the
-- text only until then. handover_at is when any replica gives it to the
-- queue if it is still here (its process died or hung); NULL: a job has it.
-- id orders one conversation's messages (from_addr, to_jid): a message is
-- sent only after the earlier ones of its conversation are gone.
-- Replicas of the previous release neither write nor read it (their
-- replies stay chat_message jobs); a chat_outbox job one of them fetches
-- during a rolling upgrade fails as of an unknown kind and is retried
-- until a replica of this release has it.
CREATE TABLE chat_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin_id   text NOT NULL,
    from_addr   text NOT NULL,
    to_jid      text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    handover_at timestamptz
);
CREATE INDEX chat_outbox_conversation_idx ON chat_outbox (to_jid, from_addr, id);
CREATE INDEX chat_outbox_handover_idx ON chat_outbox (handover_at) WHERE handover_at IS NOT NULL;

-- +goose Down
DROP TABLE chat_outbox;
