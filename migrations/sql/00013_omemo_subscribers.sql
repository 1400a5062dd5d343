-- +goose Up

-- Who is subscribed to a function address's presence (RFC 6121), and so,
-- by XEP-0163's rules for PEP, to its OMEMO device list: the gateway
-- pushes the list to them when it changes (gateway/omemo_notify.go). The
-- JIDs are personal data kept for that reason only, while the
-- subscription lasts: an unsubscribe deletes the row.
CREATE TABLE omemo_subscribers (
    address       text NOT NULL,
    jid           text NOT NULL,                 -- bare JID
    notify        boolean NOT NULL DEFAULT false, -- its client's caps (XEP-0115) list devicelist+notify
    subscribed_at timestamptz NOT NULL,
    PRIMARY KEY (address, jid)
);

-- The device each address last announced to its subscribers. Kept apart
-- from omemo_devices so that a lost and recreated device is noticed.
CREATE TABLE omemo_announced (
    address      text PRIMARY KEY,
    device_id    bigint NOT NULL,
    announced_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE omemo_announced;
DROP TABLE omemo_subscribers;
