-- 0036_performance_closes (issue 16 item 5, FR-049).
--
-- A closed trade is one closing round trip per exit (the trade, or the
-- broker order of an executed stop or take-profit leg), however many fill
-- increments it takes: performance_closes holds each exit's realized P&L
-- and cost basis so far per scope, and a further increment of the same exit
-- revises its trade instead of counting another. sum_return is the sum of
-- the closed trades' returns (P&L ÷ cost basis) for average_return.
-- performance_orders records how much of a broker-executed order (a stop,
-- a pair's leg: no trade row fills for it) is already counted, so every
-- path that sees it filled records it once; it keeps what a replay needs.

ALTER TABLE performance_stats ADD COLUMN sum_return TEXT NOT NULL DEFAULT '0';

CREATE TABLE performance_closes (
    user_id   varchar(36)  NOT NULL REFERENCES users (id),
    scope     varchar(8)   NOT NULL,
    scope_key varchar(32)  NOT NULL,
    close_key varchar(120) NOT NULL,
    pnl       TEXT NOT NULL,
    cost      TEXT NOT NULL,
    PRIMARY KEY (user_id, scope, scope_key, close_key)
);

CREATE TABLE performance_orders (
    user_id         varchar(36)  NOT NULL REFERENCES users (id),
    order_key       varchar(120) NOT NULL,
    filled_quantity TEXT NOT NULL,
    notional        TEXT NOT NULL,
    connection_id   varchar(36)  NOT NULL,
    symbol          varchar(32)  NOT NULL,
    side            varchar(5)   NOT NULL,
    source          varchar(16)  NOT NULL DEFAULT '',
    trade_id        varchar(36)  NOT NULL DEFAULT '',
    updated_at      DATETIME     NOT NULL,
    PRIMARY KEY (user_id, order_key)
);

-- The one-time rebuild of the aggregates from the recorded fills
-- (performance.Backfill, run by migrate): its row says it was done.
CREATE TABLE performance_backfills (
    name    varchar(32) PRIMARY KEY,
    done_at DATETIME NOT NULL
);
