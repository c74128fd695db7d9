-- 0003_discord (SQLite): Discord signal sources, their authorized
-- authors, traders' subscriptions with sizing, DM preferences, the log of
-- signal messages and the queue of outgoing Discord messages.
-- Decimals are TEXT (exact round trip); timestamps DATETIME (UTC).

CREATE TABLE discord_sources (
    id                       varchar(36)  PRIMARY KEY,
    guild_id                 varchar(32)  NOT NULL,
    channel_id               varchar(32)  NOT NULL,
    name                     varchar(100) NOT NULL,
    owner_user_id            varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parse_mode               varchar(16)  NOT NULL,
    max_age_seconds          INTEGER      NOT NULL DEFAULT 0,
    summary_replies          BOOLEAN      NOT NULL DEFAULT 1,
    status                   varchar(16)  NOT NULL,
    status_reason            varchar(300) NOT NULL DEFAULT '',
    registered_by_discord_id varchar(32)  NOT NULL,
    created_at               DATETIME NOT NULL,
    updated_at               DATETIME NOT NULL,
    CONSTRAINT ck_discord_sources_parse_mode CHECK (parse_mode IN ('strict', 'freeform')),
    CONSTRAINT ck_discord_sources_status CHECK (status IN ('pending', 'active', 'paused', 'rejected')),
    CONSTRAINT ck_discord_sources_max_age CHECK (max_age_seconds >= 0)
);
CREATE INDEX idx_discord_sources_guild_id ON discord_sources (guild_id);
CREATE UNIQUE INDEX idx_discord_sources_channel_id ON discord_sources (channel_id);
CREATE INDEX idx_discord_sources_owner_user_id ON discord_sources (owner_user_id);
CREATE INDEX idx_discord_sources_status ON discord_sources (status);

CREATE TABLE discord_source_authors (
    id         varchar(36) PRIMARY KEY,
    source_id  varchar(36) NOT NULL REFERENCES discord_sources (id) ON DELETE CASCADE,
    kind       varchar(8)  NOT NULL,
    discord_id varchar(32) NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT ck_discord_source_authors_kind CHECK (kind IN ('user', 'role'))
);
CREATE UNIQUE INDEX ux_source_author ON discord_source_authors (source_id, kind, discord_id);

CREATE TABLE source_subscriptions (
    id           varchar(36)    PRIMARY KEY,
    source_id    varchar(36)    NOT NULL REFERENCES discord_sources (id) ON DELETE CASCADE,
    user_id      varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sizing_mode  varchar(16)    NOT NULL,
    multiplier   TEXT           NOT NULL,
    fixed_amount TEXT           NOT NULL,
    shadow       BOOLEAN        NOT NULL DEFAULT 0,
    active       BOOLEAN        NOT NULL DEFAULT 1,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    CONSTRAINT ck_source_subscriptions_sizing CHECK (sizing_mode IN ('multiplier', 'fixed_amount'))
);
CREATE UNIQUE INDEX ux_source_subscription ON source_subscriptions (source_id, user_id);
CREATE INDEX idx_source_subscriptions_user_id ON source_subscriptions (user_id);

CREATE TABLE notification_preferences (
    user_id    varchar(36) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    fills      BOOLEAN     NOT NULL DEFAULT 1,
    rejects    BOOLEAN     NOT NULL DEFAULT 1,
    queued     BOOLEAN     NOT NULL DEFAULT 1,
    stop_loss  BOOLEAN     NOT NULL DEFAULT 1,
    risk_locks BOOLEAN     NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL
);

CREATE TABLE discord_messages (
    id             varchar(36)  PRIMARY KEY,
    message_id     varchar(32)  NOT NULL,
    source_id      varchar(36)  NOT NULL REFERENCES discord_sources (id) ON DELETE CASCADE,
    guild_id       varchar(32)  NOT NULL,
    channel_id     varchar(32)  NOT NULL,
    author_id      varchar(32)  NOT NULL,
    content        text         NOT NULL,
    status         varchar(16)  NOT NULL,
    reason         text         NOT NULL DEFAULT '',
    workflow_id    varchar(200) NOT NULL DEFAULT '',
    posted_at      DATETIME NOT NULL,
    received_at    DATETIME NOT NULL,
    followers      INTEGER      NOT NULL DEFAULT 0,
    skipped        INTEGER      NOT NULL DEFAULT 0,
    edited_at      DATETIME ,
    edited_content text         NOT NULL DEFAULT '',
    deleted_at     DATETIME ,
    CONSTRAINT ck_discord_messages_status CHECK (status IN ('fired', 'refused', 'stale'))
);
CREATE UNIQUE INDEX idx_discord_messages_message_id ON discord_messages (message_id);
CREATE INDEX ix_discord_message_source ON discord_messages (source_id, posted_at);

CREATE TABLE discord_notifications (
    id           varchar(36)  PRIMARY KEY,
    dedupe_key   varchar(200) NOT NULL,
    kind         varchar(16)  NOT NULL,
    user_id      varchar(36)  NOT NULL DEFAULT '',
    channel_id   varchar(32)  NOT NULL DEFAULT '',
    reply_to     varchar(32)  NOT NULL DEFAULT '',
    content      text         NOT NULL,
    status       varchar(16)  NOT NULL,
    next_attempt DATETIME NOT NULL,
    attempts     INTEGER      NOT NULL DEFAULT 0,
    error        varchar(300) NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    sent_at      DATETIME ,
    CONSTRAINT ck_discord_notifications_status CHECK (status IN ('pending', 'sending', 'sent', 'undeliverable', 'failed')),
    CONSTRAINT ck_discord_notifications_target CHECK ((user_id = '') <> (channel_id = ''))
);
CREATE UNIQUE INDEX idx_discord_notifications_dedupe_key ON discord_notifications (dedupe_key);
CREATE INDEX idx_discord_notifications_user_id ON discord_notifications (user_id);
CREATE INDEX ix_discord_notification_due ON discord_notifications (status, next_attempt);

CREATE TABLE discord_cursors (
    name       varchar(32) PRIMARY KEY,
    position   INTEGER     NOT NULL,
    updated_at DATETIME NOT NULL
);
