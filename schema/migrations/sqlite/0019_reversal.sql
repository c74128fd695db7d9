-- 0019_reversal: TradersPost order behaviour. A buy while short (a sell
-- while long) whose quantity goes through flat first exits the position;
-- it enters the other side only when the trader allows reversals, as a
-- second order sent once the exit filled (trades.reversal_entry marks the
-- exit that has one to follow). Alerts older than the trader's max lag are
-- refused as stale.

ALTER TABLE risk_settings ADD COLUMN allow_reversal boolean NOT NULL DEFAULT false;
ALTER TABLE risk_settings ADD COLUMN max_alert_lag_seconds integer NOT NULL DEFAULT 60;
ALTER TABLE trades ADD COLUMN reversal_entry boolean NOT NULL DEFAULT false;
