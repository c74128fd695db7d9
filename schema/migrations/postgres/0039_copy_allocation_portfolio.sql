-- 0039_copy_allocation_portfolio (issue 17): the follower dashboard's
-- "Copy Trade: NVDA +1 share (5% allocation)" (SPEC US-011 #2) needs the
-- share of the follower's account value each copy order is worth, fixed
-- when the order is sized; the leaderboards' "$250K portfolio" column
-- (SPEC US-011 #3) is the leader's account value at the refresh.

ALTER TABLE copy_orders ADD COLUMN allocation_pct numeric(38,18) NOT NULL DEFAULT 0;
ALTER TABLE leaderboard_entries ADD COLUMN portfolio_value numeric(38,18) NOT NULL DEFAULT 0;
