-- +goose Up

-- Every replica caches authenticated API tokens for a short while
-- (dispatch/tokencache.go) and must forget a token the moment it is
-- revoked, by whichever process: `fieldgate token revoke`, another
-- replica, or an administrator's SQL. Each updated or deleted row
-- notifies channel fieldgate_api_tokens with the hex SHA-256 of its
-- secret when its transaction commits (never the secret, which is not
-- stored); a truncated table notifies '' (forget every token).
-- +goose StatementBegin
CREATE FUNCTION api_tokens_notify() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('fieldgate_api_tokens', '');
    ELSE
        PERFORM pg_notify('fieldgate_api_tokens', encode(OLD.hash, 'hex'));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER api_tokens_notify AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION api_tokens_notify();
CREATE TRIGGER api_tokens_notify_truncate AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION api_tokens_notify();

-- +goose Down
DROP TRIGGER api_tokens_notify_truncate ON api_tokens;
DROP TRIGGER api_tokens_notify ON api_tokens;
DROP FUNCTION api_tokens_notify();
