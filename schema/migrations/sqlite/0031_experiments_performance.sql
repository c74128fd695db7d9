-- 0031_experiments_performance (issue 16 items 4 and 5).
--
-- A/B experiments (internal/experiments): an experiment names its variants
-- and their integer weights (JSON [{"name":..,"weight":..}]); a user's
-- variant is a hash of experiment id + user id, so no assignment is stored.
-- An exposure is stored the first time a user is shown the experiment's
-- surface, a conversion the first time an exposed user converts; both keep
-- the variant the user saw. The upgrade-prompt experiment is seeded here.
--
-- Per-trader performance (internal/performance, FR-049): open FIFO lots
-- per (user, connection, symbol) and running aggregates per user and scope
-- (all | source | symbol), both updated in the transaction that records a
-- fill (trade.Record); reads never rescan trades.

CREATE TABLE experiments (
    id          varchar(64)  PRIMARY KEY,
    name        varchar(120) NOT NULL,
    description text         NOT NULL DEFAULT '',
    variants    text         NOT NULL,
    status      varchar(16)  NOT NULL,
    created_at  DATETIME     NOT NULL
);

CREATE TABLE experiment_exposures (
    experiment_id varchar(64) NOT NULL REFERENCES experiments (id),
    user_id       varchar(36) NOT NULL REFERENCES users (id),
    variant       varchar(32) NOT NULL,
    exposed_at    DATETIME    NOT NULL,
    PRIMARY KEY (experiment_id, user_id)
);

CREATE TABLE experiment_conversions (
    experiment_id varchar(64) NOT NULL REFERENCES experiments (id),
    user_id       varchar(36) NOT NULL REFERENCES users (id),
    variant       varchar(32) NOT NULL,
    converted_at  DATETIME    NOT NULL,
    PRIMARY KEY (experiment_id, user_id)
);

INSERT INTO experiments (id, name, description, variants, status, created_at) VALUES ('upgrade-prompt', 'Upgrade prompt wording',
    'The free-plan upgrade prompt on Settings → Billing: the plain live-trading wording (control) against the missed-trades wording. Exposure: the prompt was shown; conversion: a checkout completed.',
    '[{"name":"control","weight":50},{"name":"missed-trades","weight":50}]', 'running', CURRENT_TIMESTAMP);

CREATE TABLE performance_lots (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id              varchar(36) NOT NULL REFERENCES users (id),
    broker_connection_id varchar(36) NOT NULL DEFAULT '',
    symbol               varchar(32) NOT NULL,
    source               varchar(16) NOT NULL DEFAULT '',
    side                 varchar(5)  NOT NULL,
    quantity             TEXT        NOT NULL,
    cost                 TEXT        NOT NULL,
    trade_id             varchar(36) NOT NULL,
    opened_at            DATETIME    NOT NULL
);
CREATE INDEX ix_performance_lots_open ON performance_lots (user_id, broker_connection_id, symbol, id);

CREATE TABLE performance_stats (
    user_id       varchar(36) NOT NULL REFERENCES users (id),
    scope         varchar(8)  NOT NULL,
    scope_key     varchar(32) NOT NULL,
    closed_trades bigint      NOT NULL DEFAULT 0,
    wins          bigint      NOT NULL DEFAULT 0,
    losses        bigint      NOT NULL DEFAULT 0,
    gross_profit  TEXT        NOT NULL,
    gross_loss    TEXT        NOT NULL,
    realized      TEXT        NOT NULL,
    largest_win   TEXT        NOT NULL,
    largest_loss  TEXT        NOT NULL,
    peak          TEXT        NOT NULL,
    max_drawdown  TEXT        NOT NULL,
    updated_at    DATETIME    NOT NULL,
    PRIMARY KEY (user_id, scope, scope_key)
);
