-- 0023_exit_pair: a position's take-profit and stop-loss as ONE broker-native
-- one-cancels-other pair where the broker has one (DESIGN §8 Take-profit).
-- The trade says which path its take-profit took (native | emulated) and
-- the pair's take-profit leg; the position's stop row says its stop is the
-- pair's stop leg (pair_id), so every path that cancels the stop cancels
-- the pair.

ALTER TABLE trades ADD COLUMN take_profit_mode varchar(16) NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN take_profit_order_id varchar(128) NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN take_profit_pair_id varchar(128) NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN take_profit_stop_status varchar(16) NOT NULL DEFAULT '';
ALTER TABLE stop_losses ADD COLUMN pair_id varchar(128) NOT NULL DEFAULT '';
