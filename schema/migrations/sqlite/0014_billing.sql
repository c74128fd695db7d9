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

-- Mail written in the transaction of the change it tells about (a new
-- sign-in, a password reset link) and sent after commit by the mail relay
-- of any api/worker process (claimed with a lease; retried with backoff).
CREATE TABLE mail_outbox (
    id         varchar(36)  PRIMARY KEY,
    user_id    varchar(36)  NOT NULL,
    kind       varchar(32)  NOT NULL,
    data       text         NOT NULL,
    created_at DATETIME  NOT NULL,
    next_at    DATETIME  NOT NULL,
    attempts   integer      NOT NULL DEFAULT 0,
    sent_at    DATETIME,
    last_error varchar(300) NOT NULL DEFAULT ''
);
CREATE INDEX idx_mail_outbox_pending ON mail_outbox (sent_at, next_at);

-- Password reset by e-mail (FR-029): a single-use token, stored hashed,
-- valid 30 minutes.
CREATE TABLE password_resets (
    token_hash varchar(64)  PRIMARY KEY,
    user_id    varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME  NOT NULL,
    expires_at DATETIME  NOT NULL,
    used_at    DATETIME
);
CREATE INDEX idx_password_resets_user ON password_resets (user_id);
