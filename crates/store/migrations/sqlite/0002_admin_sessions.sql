-- Browser sessions of the admin UI. Only a hash of the cookie's token is kept, so a copy of the
-- database does not hand out live sessions; rows outlive logout (revoked_at_ms) until they expire.
CREATE TABLE admin_sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    csrf_token    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at_ms);
