-- 0034_analytics_trader_clv: customer lifetime value per trader (issue 16,
-- SPEC FR-046, US-005 #4), materialised by the analytics-refresh schedule
-- with the other analytics tables: CLV = average monthly revenue × average
-- retention months of the trader's plan + trade volume bonus (1 bp of the
-- notional the trader had filled in the 12 months to the refresh month).
-- retention_months and clv are NULL while the plan has no churn observed
-- ("no churn yet"); high_value is clv >= 5000 USD.

CREATE TABLE analytics_trader_clv (
    user_id          varchar(36)   PRIMARY KEY,
    tier             varchar(16)   NOT NULL,
    paid_months      bigint        NOT NULL,
    avg_mrr          numeric(20,2) NOT NULL,
    retention_months numeric(20,2),
    notional_12m     numeric(24,2) NOT NULL,
    volume_bonus     numeric(20,2) NOT NULL,
    clv              numeric(20,2),
    high_value       boolean NOT NULL
);
