-- +goose Up

-- OMEMO (XEP-0384 v0.3, gateway/omemo): every function address is an
-- OMEMO device. Private key material (identity private key, pre-key and
-- signed pre-key records, session records) is sealed with AES-256-GCM
-- under FIELDGATE_OMEMO_KEY before it is written here; public keys are
-- stored as they are. Sessions and first-seen identities are personal
-- data of the correspondents (their JIDs): they are kept while the
-- address exists, as a messenger keeps its contacts' sessions.
CREATE TABLE omemo_devices (
    address          text PRIMARY KEY,
    device_id        bigint NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    registration_id  bigint NOT NULL,
    identity_public  bytea NOT NULL,
    identity_private bytea NOT NULL, -- sealed
    next_prekey_id   bigint NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE omemo_prekeys (
    address text NOT NULL REFERENCES omemo_devices(address) ON DELETE CASCADE,
    id      bigint NOT NULL,
    record  bytea NOT NULL, -- sealed
    PRIMARY KEY (address, id)
);

CREATE TABLE omemo_signed_prekeys (
    address    text NOT NULL REFERENCES omemo_devices(address) ON DELETE CASCADE,
    id         bigint NOT NULL,
    record     bytea NOT NULL, -- sealed
    created_at timestamptz NOT NULL,
    PRIMARY KEY (address, id)
);

CREATE TABLE omemo_sessions (
    address    text NOT NULL REFERENCES omemo_devices(address) ON DELETE CASCADE,
    jid        text NOT NULL,
    device_id  bigint NOT NULL,
    record     bytea NOT NULL, -- sealed
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (address, jid, device_id)
);

CREATE TABLE omemo_identities (
    address      text NOT NULL REFERENCES omemo_devices(address) ON DELETE CASCADE,
    jid          text NOT NULL,
    device_id    bigint NOT NULL,
    identity_key bytea NOT NULL,
    first_seen   timestamptz NOT NULL,
    PRIMARY KEY (address, jid, device_id)
);

-- +goose Down
DROP TABLE omemo_identities;
DROP TABLE omemo_sessions;
DROP TABLE omemo_signed_prekeys;
DROP TABLE omemo_prekeys;
DROP TABLE omemo_devices;
