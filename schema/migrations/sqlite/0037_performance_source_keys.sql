-- 0037_performance_source_keys (issue 16 item 5).
--
-- Performance per signal source is kept per individual source instead of
-- per source kind: a lot's source and the source scope's key are
-- "discord:<discord source id>", "copy:<leader user id>", "tradingview" or
-- "dashboard" (internal/performance SourceKey; the readable name is
-- resolved when read). The columns holding them are widened to 64.
-- performance.Backfill rebuilds the aggregates once more under the marker
-- "rebuild-0037" so existing rows, keyed by kind, are re-keyed.
--
-- SQLite does not enforce varchar lengths: nothing to alter. The statement
-- below only gives the migration a body.

SELECT 1;
