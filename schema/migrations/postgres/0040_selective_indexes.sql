-- 0040_selective_indexes: indexes for lookups that only had an index on a
-- column of a few values. SQLite has no statistics here (no ANALYZE), so
-- between two indexes with one equality each it may take either — and
-- between an index that also gives the ORDER BY and one that does not,
-- it takes the first. It took
--   broker_connections (is_active, id) for "user_id = ? AND is_active = ?"
--     (routing every trade read every active connection of every trader;
--     so did the copy-trading and leaderboard reads joining a trader's
--     balances to their active connections),
--   trades (status) for "broker_connection_id = ? AND status IN (...)"
--     (every guard look counted the in-flight trades of all traders, and
--     its stop upkeep read every filled trade ever made),
--   discord_notifications (status, next_attempt) for a trader's sent DMs.
-- Indexes whose leading columns are all equalities of those queries are
-- chosen on both engines. The pages over all active connections (guard
-- starts, health checks) now say "is_active" literally and read a partial
-- index of the active connections' ids, so no index leads with the flag.
-- Deleting a connection looks up the risk settings naming it as a
-- default (foreign keys): those columns get their indexes too.
-- activities/TestTradePathQueriesUseSelectiveIndexes reads the plans of a
-- whole trade's statements.
DROP INDEX ix_broker_connections_active;
CREATE INDEX ix_broker_connections_active ON broker_connections (id) WHERE is_active;
CREATE INDEX ix_broker_connections_user_active ON broker_connections (user_id, is_active, id);
CREATE INDEX ix_trades_connection_status ON trades (broker_connection_id, status);
CREATE INDEX ix_trades_user_status ON trades (user_id, status);
CREATE INDEX ix_discord_notifications_user_status ON discord_notifications (user_id, status, created_at);
CREATE INDEX ix_risk_settings_default_stock ON risk_settings (default_stock_connection);
CREATE INDEX ix_risk_settings_default_crypto ON risk_settings (default_crypto_connection);
