-- 0002_auth (SQLite): accounts and sessions (internal/auth).
-- Sessions are refresh-token families; refresh tokens and their hashes are
-- single-use; signing keys are sealed with a key derived from JWT_SECRET.

CREATE TABLE sessions (
    id              varchar(36)  PRIMARY KEY,
    user_id         varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            varchar(16)  NOT NULL,
    provider        varchar(16)  NOT NULL,
    ip_address      varchar(64)  NOT NULL DEFAULT '',
    network         varchar(64)  NOT NULL DEFAULT '',
    user_agent      varchar(300) NOT NULL DEFAULT '',
    user_agent_hash varchar(64)  NOT NULL DEFAULT '',
    created_at      DATETIME     NOT NULL,
    refreshed_at    DATETIME,
    expires_at      DATETIME     NOT NULL,
    revoked_at      DATETIME,
    revoke_reason   varchar(32)  NOT NULL DEFAULT '',
    CONSTRAINT ck_sessions_kind CHECK (kind IN ('browser', 'script'))
);
CREATE INDEX idx_sessions_user_id ON sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    id         varchar(36) PRIMARY KEY,
    session_id varchar(36) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash varchar(64) NOT NULL,
    created_at DATETIME    NOT NULL,
    expires_at DATETIME    NOT NULL,
    rotated_at DATETIME,
    revoked_at DATETIME
);
CREATE INDEX idx_refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE UNIQUE INDEX idx_refresh_tokens_token_hash ON refresh_tokens (token_hash);

CREATE TABLE signing_keys (
    kid          varchar(32) PRIMARY KEY,
    algorithm    varchar(16) NOT NULL,
    sealed       BLOB        NOT NULL,
    created_at   DATETIME    NOT NULL,
    sign_until   DATETIME    NOT NULL,
    verify_until DATETIME    NOT NULL,
    revoked_at   DATETIME
);

CREATE TABLE auth_identities (
    id            varchar(36)  PRIMARY KEY,
    user_id       varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      varchar(16)  NOT NULL,
    subject       varchar(128) NOT NULL,
    email         varchar(320) NOT NULL DEFAULT '',
    created_at    DATETIME     NOT NULL,
    last_login_at DATETIME
);
CREATE INDEX idx_auth_identities_user_id ON auth_identities (user_id);
CREATE UNIQUE INDEX ux_auth_identity_provider_subject ON auth_identities (provider, subject);

-- No foreign key on user_id: attempts for unknown accounts are kept too
-- ('' then), and attempts outlive a deleted account until purged.
CREATE TABLE login_attempts (
    id         varchar(36) PRIMARY KEY,
    email_hash varchar(64) NOT NULL,
    user_id    varchar(36) NOT NULL DEFAULT '',
    ip_address varchar(64) NOT NULL DEFAULT '',
    succeeded  BOOLEAN     NOT NULL DEFAULT 0,
    created_at DATETIME    NOT NULL
);
CREATE INDEX idx_login_attempts_created_at ON login_attempts (created_at);
CREATE INDEX ix_login_attempt_email_created ON login_attempts (email_hash, created_at);
