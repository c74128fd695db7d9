-- 0040_selective_indexes: indexes for the trade path's and the guard's
-- lookups that only had an index on a column of a few values. SQLite has
-- no statistics here (no ANALYZE), so between two indexes with one
-- equality each it may take either: it took
--   broker_connections (is_active, id) for "user_id = ? AND is_active = ?"
--     (the connection routing of every trade read every active connection
--     of every trader), and
--   trades (status) for "broker_connection_id = ? AND status IN (...)"
--     (every guard look counted the in-flight trades of all traders, and
--     its stop upkeep read every filled trade ever made).
-- A two-column index whose columns are all equalities of the query is
-- chosen on both engines. activities/TestTradePathQueriesUseSelectiveIndexes
-- reads the plans of a whole trade's statements.
CREATE INDEX ix_broker_connections_user_active ON broker_connections (user_id, is_active);
CREATE INDEX ix_trades_connection_status ON trades (broker_connection_id, status);
CREATE INDEX ix_trades_user_status ON trades (user_id, status);
