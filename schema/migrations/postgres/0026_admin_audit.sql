-- 0026_admin_audit: administrators page through the audit log newest
-- first by (timestamp, id) (keyset pagination, GET /api/v1/admin/audit and
-- its streamed export), and the monthly compliance report (FR-060) is
-- stored here, one row per month: written once by the compliance-report
-- schedule's activity (unique period), read by
-- GET /api/v1/admin/compliance-reports.

CREATE INDEX ix_audit_logs_timestamp_id ON audit_logs (timestamp, id);

CREATE TABLE compliance_reports (
    id              varchar(36) PRIMARY KEY,
    period          varchar(7)  NOT NULL,
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    generated_at    timestamptz NOT NULL,
    total_entries   bigint      NOT NULL,
    failed_logins   bigint      NOT NULL,
    security_alerts bigint      NOT NULL,
    chains_checked  bigint      NOT NULL,
    chains_failed   bigint      NOT NULL,
    summary         text        NOT NULL,
    html            text        NOT NULL,
    csv             text        NOT NULL,
    sha256_html     varchar(64) NOT NULL,
    sha256_csv      varchar(64) NOT NULL
);
CREATE UNIQUE INDEX ux_compliance_reports_period ON compliance_reports (period);
