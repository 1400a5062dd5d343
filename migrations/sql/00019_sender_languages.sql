-- +goose Up

-- The language a messenger sender asked to be answered in ("english",
-- "deutsch" to a function address; gateway/language.go). Messengers do not
-- tell the phone's language (Conversations declares xml:lang "en" on every
-- stream), so without this an English-speaking field worker only ever gets
-- German replies. Personal data (an address and a preference): deleted by
-- retention once the sender has no report left and the choice is older
-- than the default retention period.
CREATE TABLE sender_languages (
    channel  text NOT NULL,
    sender   text NOT NULL,
    language text NOT NULL,
    set_at   timestamptz NOT NULL,
    PRIMARY KEY (channel, sender)
);

-- +goose Down
DROP TABLE sender_languages;
