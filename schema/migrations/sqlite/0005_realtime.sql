-- 0005_realtime (SQLite): WebSocket tickets, last synced balance per broker
-- connection and the equity curve of the dashboard.

CREATE TABLE ws_tickets (
    token_hash        varchar(64) PRIMARY KEY,
    user_id           varchar(36) NOT NULL,
    session_id        varchar(36) NOT NULL,
    access_expires_at DATETIME    NOT NULL,
    expires_at        DATETIME    NOT NULL,
    created_at        DATETIME    NOT NULL
);
CREATE INDEX idx_ws_tickets_user_id ON ws_tickets (user_id);
CREATE INDEX idx_ws_tickets_expires_at ON ws_tickets (expires_at);

CREATE TABLE portfolio_balances (
    broker_connection_id varchar(36) PRIMARY KEY,
    user_id              varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cash                 TEXT        NOT NULL,
    equity               TEXT        NOT NULL,
    buying_power         TEXT        NOT NULL,
    currency             varchar(8)  NOT NULL DEFAULT '',
    updated_at           DATETIME    NOT NULL
);
CREATE INDEX idx_portfolio_balances_user_id ON portfolio_balances (user_id);

CREATE TABLE equity_points (
    id                   INTEGER     PRIMARY KEY AUTOINCREMENT,
    user_id              varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    broker_connection_id varchar(36) NOT NULL,
    equity               TEXT        NOT NULL,
    cash                 TEXT        NOT NULL,
    at                   DATETIME    NOT NULL
);
CREATE INDEX ix_equity_user_time ON equity_points (user_id, at);
