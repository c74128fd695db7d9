-- 0029_analytics: admin revenue analytics (issue 16), materialised by the
-- analytics-refresh schedule (internal/analytics.Refresh) so the admin
-- views never scan billing_events on a request and never touch the trade
-- path's tables. Every table is rewritten whole by one refresh
-- transaction. Money is USD at the fixed rate table of
-- internal/analytics (analytics.USDRates), exact to the cent.

CREATE TABLE analytics_mrr (
    user_id varchar(36)    NOT NULL,
    month   varchar(7)     NOT NULL,
    tier    varchar(16)    NOT NULL,
    mrr     numeric(20,2)  NOT NULL,
    PRIMARY KEY (user_id, month)
);

CREATE TABLE analytics_revenue_months (
    month           varchar(7)    PRIMARY KEY,
    mrr             numeric(20,2) NOT NULL,
    arr             numeric(20,2) NOT NULL,
    new_mrr         numeric(20,2) NOT NULL,
    expansion_mrr   numeric(20,2) NOT NULL,
    contraction_mrr numeric(20,2) NOT NULL,
    churned_mrr     numeric(20,2) NOT NULL,
    reactivated_mrr numeric(20,2) NOT NULL,
    cash            numeric(20,2) NOT NULL,
    refunds         numeric(20,2) NOT NULL,
    paying_users    bigint        NOT NULL
);

CREATE TABLE analytics_cohorts (
    cohort       varchar(7) NOT NULL,
    month_offset integer    NOT NULL,
    size         bigint     NOT NULL,
    retained     bigint     NOT NULL,
    PRIMARY KEY (cohort, month_offset)
);

CREATE TABLE analytics_clv (
    kind         varchar(8)    NOT NULL,
    group_key    varchar(16)   NOT NULL,
    user_months  bigint        NOT NULL,
    churned      bigint        NOT NULL,
    at_risk      bigint        NOT NULL,
    arpa         numeric(20,2) NOT NULL,
    clv          numeric(20,2),
    PRIMARY KEY (kind, group_key)
);

CREATE TABLE analytics_refreshes (
    id           integer   PRIMARY KEY,
    refreshed_at DATETIME  NOT NULL,
    as_of_month  varchar(7) NOT NULL,
    unconverted  text      NOT NULL
);
