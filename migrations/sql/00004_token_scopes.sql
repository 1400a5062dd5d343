-- +goose Up

-- The function addresses an API token may file reports to (their local
-- parts, or '*' for all). Empty: only addresses whose allow-list says
-- "public". Existing tokens get the empty list, so an old reporter token
-- can no longer file to a restricted address such as the child-welfare
-- on-call (issue 16); give it --address explicitly.
ALTER TABLE api_tokens ADD COLUMN addresses text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN addresses;
