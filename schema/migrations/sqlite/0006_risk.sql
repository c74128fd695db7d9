-- 0006_risk (SQLite): the account guard's daily state per broker
-- connection, the protective stop of each open position, trailing stops.

ALTER TABLE risk_settings ADD COLUMN trailing_stop BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE risk_guards (
    connection_id    varchar(36)  PRIMARY KEY REFERENCES broker_connections (id) ON DELETE CASCADE,
    user_id          varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day              varchar(10)  NOT NULL,
    day_start_equity TEXT         NOT NULL,
    level            varchar(16)  NOT NULL,
    message          TEXT,
    blocked_until    DATETIME,
    equity           TEXT         NOT NULL,
    cash             TEXT         NOT NULL,
    buying_power     TEXT         NOT NULL,
    flatten_round    INTEGER      NOT NULL DEFAULT 0,
    flatten_orders   TEXT,
    flattened_at     DATETIME,
    observed_at      DATETIME     NOT NULL,
    updated_at       DATETIME     NOT NULL
);
CREATE INDEX idx_risk_guards_user_id ON risk_guards (user_id);

CREATE TABLE stop_losses (
    id              varchar(36)  PRIMARY KEY,
    user_id         varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id   varchar(36)  NOT NULL REFERENCES broker_connections (id) ON DELETE CASCADE,
    symbol          varchar(32)  NOT NULL,
    asset_class     varchar(8)   NOT NULL,
    side            varchar(4)   NOT NULL,
    quantity        TEXT         NOT NULL,
    stop_price      TEXT,
    trail_percent   TEXT,
    status          varchar(16)  NOT NULL,
    version         INTEGER      NOT NULL DEFAULT 0,
    order_id        varchar(128),
    client_order_id varchar(64),
    trade_id        varchar(36),
    lease_owner     varchar(200),
    lease_until     DATETIME,
    created_at      DATETIME     NOT NULL,
    updated_at      DATETIME     NOT NULL
);
CREATE UNIQUE INDEX ux_stop_conn_symbol ON stop_losses (connection_id, symbol);
CREATE INDEX idx_stop_losses_user_id ON stop_losses (user_id);
