-- +goose Up

-- An admin can pin a correspondent device's identity key
-- (`fieldgate omemo trust`): it then replaces what blind trust saw first,
-- and only that key is accepted for the device.
ALTER TABLE omemo_identities ADD COLUMN pinned boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE omemo_identities DROP COLUMN pinned;
