-- 0020_approval: manual approval (TradersPost's "auto-submit off"). A
-- trader — or one channel subscription — may require approving each signal
-- before it is sent: the trade waits as pending_approval until approved
-- (approved_at), rejected, or the timeout cancels it.

ALTER TABLE risk_settings ADD COLUMN require_approval boolean NOT NULL DEFAULT false;
ALTER TABLE risk_settings ADD COLUMN approval_timeout_seconds integer NOT NULL DEFAULT 300;
ALTER TABLE source_subscriptions ADD COLUMN require_approval boolean;
ALTER TABLE trades ADD COLUMN approved_at timestamptz;
