-- 0014_billing: provider webhook events (idempotent by provider + event id,
-- each processed by its own workflow) and the subscription fields billing
-- needs: the provider's price, cancellation at period end, the time of the
-- newest provider event applied (older, out-of-order events change
-- nothing) and the last failed invoice (dunning).

CREATE TABLE billing_events (
    id           varchar(36)  PRIMARY KEY,
    provider     varchar(16)  NOT NULL,
    event_id     varchar(255) NOT NULL,
    type         varchar(100) NOT NULL,
    payload      text         NOT NULL,
    created_at   DATETIME  NOT NULL,
    received_at  DATETIME  NOT NULL,
    processed_at DATETIME,
    outcome      text         NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ux_billing_events_provider_event ON billing_events (provider, event_id);

ALTER TABLE subscriptions ADD COLUMN price_id varchar(100) NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE subscriptions ADD COLUMN last_event_at DATETIME;
ALTER TABLE subscriptions ADD COLUMN failed_invoice_id varchar(100) NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN updated_at DATETIME;
CREATE UNIQUE INDEX ux_subscriptions_user ON subscriptions (user_id);
CREATE INDEX idx_subscriptions_customer ON subscriptions (billing_provider, billing_provider_customer_id);
