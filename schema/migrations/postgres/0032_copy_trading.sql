-- 0032_copy_trading: copy trading (issue 17, SPEC US-011). A leader opts in
-- (copy_leaders), followers follow with a sizing mode, a max position and a
-- loss limit (copy_follows); every fill of a leader is one copy_fills row,
-- unique by the leader's fill id and written in the transaction that records
-- the fill (outbox); copy_orders is each follower's outcome for a fill (an
-- order, or a skip with its reason); copy_positions tracks what each follower
-- holds because of each leader (exits close only that); copy_leader_positions
-- is the leader's own position as seen by copy trading (exit fractions).

CREATE TABLE copy_leaders (
    user_id      varchar(36)  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    allow_copy   boolean      NOT NULL DEFAULT false,
    visibility   varchar(16)  NOT NULL DEFAULT 'private',
    display_name varchar(100) NOT NULL DEFAULT '',
    created_at   timestamptz  NOT NULL,
    updated_at   timestamptz  NOT NULL,
    CONSTRAINT ck_copy_leaders_visibility CHECK (visibility IN ('public', 'followers', 'private'))
);
CREATE INDEX idx_copy_leaders_visibility ON copy_leaders (visibility);

CREATE TABLE copy_follows (
    id            varchar(36)    PRIMARY KEY,
    follower_id   varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    leader_id     varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sizing_mode   varchar(16)    NOT NULL,
    multiplier    numeric(38,18) NOT NULL,
    fixed_amount  numeric(38,18) NOT NULL,
    max_position  numeric(38,18) NOT NULL,
    loss_limit    numeric(38,18) NOT NULL,
    status        varchar(16)    NOT NULL,
    status_reason varchar(300)   NOT NULL DEFAULT '',
    created_at    timestamptz    NOT NULL,
    updated_at    timestamptz    NOT NULL,
    CONSTRAINT ck_copy_follows_sizing CHECK (sizing_mode IN ('proportional', 'multiplier', 'fixed_amount')),
    CONSTRAINT ck_copy_follows_status CHECK (status IN ('active', 'paused', 'stopped')),
    CONSTRAINT ck_copy_follows_self CHECK (follower_id <> leader_id)
);
CREATE UNIQUE INDEX ux_copy_follow ON copy_follows (follower_id, leader_id);
CREATE INDEX ix_copy_follows_leader ON copy_follows (leader_id, status, follower_id);

CREATE TABLE copy_fills (
    id              varchar(36)    PRIMARY KEY,
    fill_id         varchar(200)   NOT NULL,
    leader_id       varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trade_id        varchar(36)    NOT NULL DEFAULT '',
    kind            varchar(16)    NOT NULL,
    symbol          varchar(32)    NOT NULL,
    asset_class     varchar(8)     NOT NULL,
    side            varchar(4)     NOT NULL,
    quantity        numeric(38,18) NOT NULL,
    price           numeric(38,18) NOT NULL,
    leader_equity   numeric(38,18) NOT NULL,
    position_before numeric(38,18) NOT NULL,
    exit_fraction   numeric(38,18) NOT NULL,
    followers       integer        NOT NULL DEFAULT 0,
    skipped         integer        NOT NULL DEFAULT 0,
    fanned_out_at   timestamptz,
    created_at      timestamptz    NOT NULL,
    CONSTRAINT ck_copy_fills_kind CHECK (kind IN ('entry', 'add', 'exit', 'close', 'take_profit', 'stop'))
);
CREATE UNIQUE INDEX ux_copy_fills_fill_id ON copy_fills (fill_id);
CREATE INDEX ix_copy_fills_leader ON copy_fills (leader_id, created_at);

CREATE TABLE copy_orders (
    id           varchar(36)    PRIMARY KEY,
    copy_fill_id varchar(36)    NOT NULL REFERENCES copy_fills (id) ON DELETE CASCADE,
    follower_id  varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    leader_id    varchar(36)    NOT NULL,
    symbol       varchar(32)    NOT NULL,
    side         varchar(4)     NOT NULL,
    quantity     numeric(38,18) NOT NULL,
    status       varchar(16)    NOT NULL,
    reason       varchar(300)   NOT NULL DEFAULT '',
    trade_id     varchar(36)    NOT NULL DEFAULT '',
    created_at   timestamptz    NOT NULL,
    CONSTRAINT ck_copy_orders_status CHECK (status IN ('sent', 'filled', 'skipped'))
);
CREATE UNIQUE INDEX ux_copy_order ON copy_orders (copy_fill_id, follower_id, symbol);
CREATE INDEX ix_copy_orders_follower ON copy_orders (follower_id, created_at);
CREATE INDEX ix_copy_orders_trade ON copy_orders (trade_id);

CREATE TABLE copy_positions (
    follower_id  varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    leader_id    varchar(36)    NOT NULL,
    symbol       varchar(32)    NOT NULL,
    quantity     numeric(38,18) NOT NULL,
    avg_price    numeric(38,18) NOT NULL,
    realized_pnl numeric(38,18) NOT NULL,
    last_price   numeric(38,18) NOT NULL,
    updated_at   timestamptz    NOT NULL,
    PRIMARY KEY (follower_id, leader_id, symbol)
);

CREATE TABLE copy_leader_positions (
    leader_id  varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    symbol     varchar(32)    NOT NULL,
    quantity   numeric(38,18) NOT NULL,
    updated_at timestamptz    NOT NULL,
    PRIMARY KEY (leader_id, symbol)
);
