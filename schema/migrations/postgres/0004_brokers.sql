-- 0004_brokers (PostgreSQL): connection health details, Schwab order claims
-- shared by every worker process, pending broker OAuth authorizations.

ALTER TABLE broker_connections ADD COLUMN health_message varchar(300) NOT NULL DEFAULT '';
ALTER TABLE broker_connections ADD COLUMN account_value numeric(38,18);
ALTER TABLE broker_connections ADD COLUMN account_currency varchar(8) NOT NULL DEFAULT '';
-- The health sweep pages through active connections by id.
CREATE INDEX ix_broker_connections_active ON broker_connections (is_active, id);

CREATE TABLE schwab_order_claims (
    id              bigserial    PRIMARY KEY,
    account         varchar(128) NOT NULL,
    order_id        varchar(64)  NOT NULL,
    client_order_id varchar(64)  NOT NULL,
    created_at      timestamptz  NOT NULL
);
CREATE UNIQUE INDEX ux_schwab_claim_order ON schwab_order_claims (account, order_id);
CREATE UNIQUE INDEX ux_schwab_claim_client ON schwab_order_claims (account, client_order_id);
CREATE INDEX idx_schwab_order_claims_created_at ON schwab_order_claims (created_at);

CREATE TABLE broker_oauth_states (
    id            varchar(36)  PRIMARY KEY,
    state_hash    varchar(64)  NOT NULL,
    user_id       varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    broker        varchar(16)  NOT NULL,
    connection_id varchar(36)  NOT NULL DEFAULT '',
    label         varchar(100) NOT NULL DEFAULT '',
    options       bytea,
    key_version   bigint       NOT NULL DEFAULT 0,
    created_at    timestamptz  NOT NULL,
    expires_at    timestamptz  NOT NULL,
    used_at       timestamptz
);
CREATE UNIQUE INDEX idx_broker_oauth_states_state_hash ON broker_oauth_states (state_hash);
CREATE INDEX idx_broker_oauth_states_user_id ON broker_oauth_states (user_id);
CREATE INDEX idx_broker_oauth_states_expires_at ON broker_oauth_states (expires_at);
