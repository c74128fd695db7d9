-- 0016_webhook_guard: an optional source-IP allowlist per TradingView
-- webhook URL (TradingView's published addresses), off by default.

ALTER TABLE webhook_tokens ADD COLUMN trading_view_ips_only boolean NOT NULL DEFAULT false;
