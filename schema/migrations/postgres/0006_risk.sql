-- 0006_risk (PostgreSQL): the account guard's daily state per broker
-- connection, the protective stop of each open position, trailing stops.

ALTER TABLE risk_settings ADD COLUMN trailing_stop boolean NOT NULL DEFAULT false;

CREATE TABLE risk_guards (
    connection_id    varchar(36)    PRIMARY KEY REFERENCES broker_connections (id) ON DELETE CASCADE,
    user_id          varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day              varchar(10)    NOT NULL,
    day_start_equity numeric(38,18) NOT NULL,
    level            varchar(16)    NOT NULL,
    message          text,
    blocked_until    timestamptz,
    equity           numeric(38,18) NOT NULL,
    cash             numeric(38,18) NOT NULL,
    buying_power     numeric(38,18) NOT NULL,
    flatten_round    bigint         NOT NULL DEFAULT 0,
    flatten_orders   text,
    flattened_at     timestamptz,
    observed_at      timestamptz    NOT NULL,
    updated_at       timestamptz    NOT NULL
);
CREATE INDEX idx_risk_guards_user_id ON risk_guards (user_id);

CREATE TABLE stop_losses (
    id              varchar(36)    PRIMARY KEY,
    user_id         varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id   varchar(36)    NOT NULL REFERENCES broker_connections (id) ON DELETE CASCADE,
    symbol          varchar(32)    NOT NULL,
    asset_class     varchar(8)     NOT NULL,
    side            varchar(4)     NOT NULL,
    quantity        numeric(38,18) NOT NULL,
    stop_price      numeric(38,18),
    trail_percent   numeric(38,18),
    status          varchar(16)    NOT NULL,
    version         bigint         NOT NULL DEFAULT 0,
    order_id        varchar(128),
    client_order_id varchar(64),
    trade_id        varchar(36),
    lease_owner     varchar(200),
    lease_until     timestamptz,
    created_at      timestamptz    NOT NULL,
    updated_at      timestamptz    NOT NULL
);
CREATE UNIQUE INDEX ux_stop_conn_symbol ON stop_losses (connection_id, symbol);
CREATE INDEX idx_stop_losses_user_id ON stop_losses (user_id);
