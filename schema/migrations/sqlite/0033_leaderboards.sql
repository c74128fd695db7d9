-- 0033_leaderboards: the leaderboards (issue 17 item 4, SPEC US-011 #3).
-- The leaderboard-refresh schedule writes one row per opted-in public
-- leader and window (7d, 30d, 90d) with the numbers computed from the
-- leader's recorded fills (internal/leaderboard); a refresh replaces all
-- rows at once. Percentages are percent; sharpe is the Sharpe-like ratio
-- of daily returns (unannualized).

CREATE TABLE leaderboard_entries (
    period           varchar(4)     NOT NULL,
    leader_id        varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name     varchar(100)   NOT NULL DEFAULT '',
    start_equity     numeric(38,18) NOT NULL,
    realized_pnl     numeric(38,18) NOT NULL,
    return_pct       numeric(38,18) NOT NULL,
    win_rate_pct     numeric(38,18) NOT NULL,
    max_drawdown_pct numeric(38,18) NOT NULL,
    sharpe           numeric(38,18) NOT NULL,
    closes           integer        NOT NULL DEFAULT 0,
    fills            integer        NOT NULL DEFAULT 0,
    followers        integer        NOT NULL DEFAULT 0,
    as_of            DATETIME       NOT NULL,
    PRIMARY KEY (period, leader_id),
    CONSTRAINT ck_leaderboard_entries_period CHECK (period IN ('7d', '30d', '90d'))
);
