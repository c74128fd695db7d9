-- 0018_broker_rate_limits: broker rate budgets shared by every api and
-- worker process (internal/broker/ratelimit/dblimit). One row per budget
-- key (an exchange IP, an account): the units taken per time slot of its
-- sliding window, and the pause (Retry-After) or ban (HTTP 418) in force.
-- Times are unix milliseconds.

CREATE TABLE broker_rate_limits (
    limit_key       varchar(160) PRIMARY KEY,
    slot_ms         bigint       NOT NULL DEFAULT 0,
    slots           text         NOT NULL DEFAULT '',
    wait_until_ms   bigint       NOT NULL DEFAULT 0,
    banned_until_ms bigint       NOT NULL DEFAULT 0,
    ban_reason      varchar(300) NOT NULL DEFAULT '',
    updated_at      DATETIME     NOT NULL
);
CREATE INDEX idx_broker_rate_limits_updated ON broker_rate_limits (updated_at);
