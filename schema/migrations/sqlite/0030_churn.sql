-- 0030_churn: the churn model (issue 16, internal/analytics/churn).
-- churn_models holds every trained version (serialized coefficients and
-- its metrics); churn_scores the newest score of each trader with its top
-- reasons, written by the nightly churn-scoring schedule; churn_alerts the
-- high-risk paying traders, at most one open alert per trader.

CREATE TABLE churn_models (
    version     bigint       PRIMARY KEY,
    algorithm   varchar(32)  NOT NULL,
    params      text         NOT NULL,
    metrics     text         NOT NULL,
    trained_on  varchar(200) NOT NULL,
    created_at  DATETIME NOT NULL
);

CREATE TABLE churn_scores (
    user_id        varchar(36) PRIMARY KEY,
    model_version  bigint      NOT NULL,
    score          REAL NOT NULL,
    high_risk      BOOLEAN     NOT NULL,
    paying         BOOLEAN     NOT NULL,
    plan           varchar(16) NOT NULL,
    reasons        text        NOT NULL,
    features       text        NOT NULL,
    scored_at      DATETIME NOT NULL
);
CREATE INDEX ix_churn_scores_score ON churn_scores (score DESC, user_id);

CREATE TABLE churn_alerts (
    id             varchar(36) PRIMARY KEY,
    user_id        varchar(36) NOT NULL,
    model_version  bigint      NOT NULL,
    score          REAL NOT NULL,
    reasons        text        NOT NULL,
    raised_at      DATETIME NOT NULL,
    closed_at      DATETIME
);
-- One open alert per trader: a second run (or a retried activity) cannot
-- alert the same customer again while the first is open.
CREATE UNIQUE INDEX ux_churn_alerts_open ON churn_alerts (user_id) WHERE closed_at IS NULL;
