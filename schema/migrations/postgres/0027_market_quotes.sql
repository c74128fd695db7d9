-- 0027_market_quotes: the paper broker's live prices (PAPER_QUOTES=live),
-- shared by every api and worker process (internal/broker/paper
-- LiveFeed): one row per canonical symbol, the last price read from the
-- market-data source and when. A process fetches a symbol only when its
-- row is older than the refresh interval, so all processes price a paper
-- account alike and the source is asked about once per interval.

CREATE TABLE market_quotes (
    symbol     varchar(40)  PRIMARY KEY,
    price      numeric(38,18) NOT NULL,
    source     varchar(16)  NOT NULL,
    fetched_at timestamptz  NOT NULL
);
