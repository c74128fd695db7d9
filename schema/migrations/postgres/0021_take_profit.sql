-- 0021_take_profit: a take-profit is part of the trade's position plan.
-- It is executed server-side for every broker: after the entry fill the
-- trade's workflow watches the price; when it reaches the target, the
-- trade's quantity is closed by a follow-up exit (take_profit_trade_id),
-- which lifts and re-places (or cancels) the position's stop-loss. A stop
-- that fires first cancels the take-profit.

ALTER TABLE trades ADD COLUMN take_profit_price numeric(38,18);
ALTER TABLE trades ADD COLUMN take_profit_status varchar(16) NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN take_profit_trade_id varchar(36) NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN take_profit_attempts integer NOT NULL DEFAULT 0;
