-- 0001_init (SQLite): every table of schema/models.go plus paper_accounts.
-- Decimals are TEXT so they round-trip exactly (never do decimal arithmetic
-- or comparisons in SQL on SQLite); timestamps are DATETIME (UTC text).

CREATE TABLE users (
    id                        varchar(36)  PRIMARY KEY,
    email                     varchar(320),
    discord_id                varchar(64),
    display_name              varchar(100) NOT NULL DEFAULT '',
    password_hash             varchar(200) NOT NULL DEFAULT '',
    role                      varchar(16)  NOT NULL DEFAULT 'trader',
    subscription_tier         varchar(16)  NOT NULL DEFAULT 'free',
    subscription_status       varchar(16)  NOT NULL DEFAULT 'active',
    subscription_renewal_date DATETIME,
    locked                    BOOLEAN      NOT NULL DEFAULT 0,
    exposure_epoch            INTEGER      NOT NULL DEFAULT 0,
    created_at                DATETIME     NOT NULL,
    last_login_at             DATETIME,
    CONSTRAINT ck_users_role CHECK (role IN ('trader', 'support', 'admin'))
);
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE UNIQUE INDEX idx_users_discord_id ON users (discord_id);

CREATE TABLE api_tokens (
    id         varchar(36)  PRIMARY KEY,
    user_id    varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash varchar(64)  NOT NULL,
    name       varchar(100) NOT NULL DEFAULT '',
    created_at DATETIME     NOT NULL,
    expires_at DATETIME,
    revoked_at DATETIME
);
CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);
CREATE UNIQUE INDEX idx_api_tokens_token_hash ON api_tokens (token_hash);

CREATE TABLE webhook_tokens (
    id              varchar(36)  PRIMARY KEY,
    user_id         varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      varchar(64)  NOT NULL,
    passphrase_hash varchar(200) NOT NULL DEFAULT '',
    created_at      DATETIME     NOT NULL,
    revoked_at      DATETIME
);
CREATE INDEX idx_webhook_tokens_user_id ON webhook_tokens (user_id);
CREATE UNIQUE INDEX idx_webhook_tokens_token_hash ON webhook_tokens (token_hash);

CREATE TABLE broker_connections (
    id                varchar(36)  PRIMARY KEY,
    user_id           varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    broker_type       varchar(16)  NOT NULL,
    label             varchar(100) NOT NULL DEFAULT '',
    paper             BOOLEAN      NOT NULL DEFAULT 0,
    credentials       BLOB,
    key_version       INTEGER      NOT NULL DEFAULT 0,
    is_active         BOOLEAN      NOT NULL DEFAULT 1,
    last_health_check DATETIME,
    health_status     varchar(32)  NOT NULL DEFAULT '',
    created_at        DATETIME     NOT NULL,
    updated_at        DATETIME     NOT NULL
);
CREATE INDEX idx_broker_connections_user_id ON broker_connections (user_id);

CREATE TABLE risk_settings (
    user_id                   varchar(36) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    max_position_pct          TEXT        NOT NULL,
    daily_loss_limit_pct      TEXT        NOT NULL,
    daily_loss_limit_amount   TEXT        NOT NULL,
    circuit_breaker_pct       TEXT        NOT NULL,
    stop_loss_pct             TEXT        NOT NULL,
    extended_hours            BOOLEAN     NOT NULL DEFAULT 0,
    default_stock_connection  varchar(36) REFERENCES broker_connections (id) ON DELETE SET NULL,
    default_crypto_connection varchar(36) REFERENCES broker_connections (id) ON DELETE SET NULL,
    updated_at                DATETIME    NOT NULL
);

CREATE TABLE signals (
    id          varchar(36)  PRIMARY KEY,
    source      varchar(16)  NOT NULL,
    external_id varchar(200) NOT NULL,
    user_id     varchar(36)  NOT NULL DEFAULT '',
    symbol      varchar(32)  NOT NULL DEFAULT '',
    payload     text         NOT NULL DEFAULT '',
    text        text         NOT NULL DEFAULT '',
    received_at DATETIME     NOT NULL,
    workflow_id varchar(200) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ux_signal_source_ext ON signals (source, external_id);
CREATE INDEX idx_signals_user_id ON signals (user_id);

CREATE TABLE trades (
    id                   varchar(36)  PRIMARY KEY,
    signal_id            varchar(36)  NOT NULL REFERENCES signals (id),
    user_id              varchar(36)  NOT NULL REFERENCES users (id),
    broker_connection_id varchar(36)  NOT NULL DEFAULT '',
    broker               varchar(16)  NOT NULL DEFAULT '',
    source               varchar(16)  NOT NULL DEFAULT '',
    symbol               varchar(32)  NOT NULL,
    asset_class          varchar(8)   NOT NULL,
    side                 varchar(4)   NOT NULL,
    order_type           varchar(16)  NOT NULL,
    requested_quantity   TEXT         NOT NULL,
    quantity             TEXT         NOT NULL,
    limit_price          TEXT,
    stop_price           TEXT,
    status               varchar(16)  NOT NULL,
    client_order_id      varchar(64)  NOT NULL DEFAULT '',
    broker_order_id      varchar(128) NOT NULL DEFAULT '',
    filled_quantity      TEXT         NOT NULL,
    fill_price           TEXT,
    stop_loss_price      TEXT,
    stop_loss_order_id   varchar(128) NOT NULL DEFAULT '',
    reserved_notional    TEXT         NOT NULL,
    sizing_note          text         NOT NULL DEFAULT '',
    error_message        text         NOT NULL DEFAULT '',
    queued_until         DATETIME,
    submitted_at         DATETIME,
    filled_at            DATETIME,
    workflow_id          varchar(200) NOT NULL DEFAULT '',
    created_at           DATETIME     NOT NULL,
    updated_at           DATETIME     NOT NULL,
    CONSTRAINT ck_trades_side CHECK (side IN ('buy', 'sell'))
);
CREATE UNIQUE INDEX ux_trade_signal_user ON trades (signal_id, user_id);
CREATE INDEX ix_trade_user_created ON trades (user_id, created_at);
CREATE INDEX idx_trades_status ON trades (status);
-- Unique once assigned; rows rejected before submission carry ''.
CREATE UNIQUE INDEX idx_trades_client_order_id ON trades (client_order_id) WHERE client_order_id <> '';

CREATE TABLE positions (
    id                   varchar(36) PRIMARY KEY,
    user_id              varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    broker_connection_id varchar(36) NOT NULL REFERENCES broker_connections (id) ON DELETE CASCADE,
    symbol               varchar(32) NOT NULL,
    quantity             TEXT        NOT NULL,
    average_entry_price  TEXT        NOT NULL,
    current_price        TEXT        NOT NULL,
    unrealized_pnl       TEXT        NOT NULL,
    stop_loss_price      TEXT,
    opened_at            DATETIME    NOT NULL,
    closed_at            DATETIME,
    updated_at           DATETIME    NOT NULL
);
CREATE UNIQUE INDEX ux_position_conn_symbol ON positions (user_id, broker_connection_id, symbol);
CREATE INDEX ix_positions_broker_connection_id ON positions (broker_connection_id);

-- Audit rows outlive their users (7-year retention) and may name system or
-- anonymous actors, so user_id carries no foreign key.
CREATE TABLE audit_logs (
    id            varchar(36)  PRIMARY KEY,
    seq           INTEGER      NOT NULL,
    timestamp     DATETIME     NOT NULL,
    user_id       varchar(36)  NOT NULL,
    action        varchar(48)  NOT NULL,
    resource_type varchar(32)  NOT NULL DEFAULT '',
    resource_id   varchar(64)  NOT NULL DEFAULT '',
    ip_address    varchar(64)  NOT NULL DEFAULT '',
    user_agent    varchar(300) NOT NULL DEFAULT '',
    status        varchar(16)  NOT NULL DEFAULT '',
    error_message text         NOT NULL DEFAULT '',
    details       text         NOT NULL DEFAULT '{}',
    previous_hash varchar(64)  NOT NULL,
    current_hash  varchar(64)  NOT NULL,
    CONSTRAINT ck_audit_logs_seq CHECK (seq >= 1)
);
CREATE UNIQUE INDEX ux_audit_user_seq ON audit_logs (user_id, seq);
CREATE INDEX idx_audit_logs_timestamp ON audit_logs (timestamp);
CREATE INDEX idx_audit_logs_action ON audit_logs (action);
CREATE INDEX idx_audit_logs_resource_id ON audit_logs (resource_id);
CREATE INDEX ix_audit_logs_user_timestamp ON audit_logs (user_id, timestamp);

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE audit_heads (
    user_id   varchar(36) PRIMARY KEY,
    last_seq  INTEGER     NOT NULL,
    last_hash varchar(64) NOT NULL
);

CREATE TABLE outbox_events (
    id         INTEGER     PRIMARY KEY AUTOINCREMENT,
    user_id    varchar(36) NOT NULL,
    seq        INTEGER     NOT NULL,
    type       varchar(48) NOT NULL,
    payload    text        NOT NULL,
    created_at DATETIME    NOT NULL
);
CREATE UNIQUE INDEX ux_outbox_user_seq ON outbox_events (user_id, seq);
CREATE INDEX idx_outbox_events_created_at ON outbox_events (created_at);

CREATE TABLE event_seqs (
    user_id  varchar(36) PRIMARY KEY,
    last_seq INTEGER     NOT NULL
);

CREATE TABLE subscriptions (
    id                               varchar(36)  PRIMARY KEY,
    user_id                          varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan                             varchar(16)  NOT NULL,
    status                           varchar(16)  NOT NULL,
    billing_provider                 varchar(16)  NOT NULL DEFAULT '',
    billing_provider_customer_id     varchar(100) NOT NULL DEFAULT '',
    billing_provider_subscription_id varchar(100) NOT NULL DEFAULT '',
    current_period_start             DATETIME     NOT NULL,
    current_period_end               DATETIME     NOT NULL,
    cancelled_at                     DATETIME,
    created_at                       DATETIME     NOT NULL
);
CREATE INDEX idx_subscriptions_user_id ON subscriptions (user_id);

-- State of the built-in paper broker, one row per paper account
-- (optimistic concurrency on version).
CREATE TABLE paper_accounts (
    id         varchar(36) PRIMARY KEY,
    state      text        NOT NULL,
    version    INTEGER     NOT NULL,
    updated_at DATETIME
);
