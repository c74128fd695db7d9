-- 0028_entry_strategy: the trader's entry strategy for multi-entry
-- signals (a ladder of limit entries): even, decreasing (the first entry,
-- nearest the market, largest) or increasing. Applied per follower at the
-- channel fan-out (risk.EntryShares).

ALTER TABLE risk_settings ADD COLUMN entry_strategy varchar(16) NOT NULL DEFAULT 'even';
