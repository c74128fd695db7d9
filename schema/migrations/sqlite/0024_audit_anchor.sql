-- 0024_audit_anchor: see the PostgreSQL migration of the same number.
-- SQLite has no roles: the archive deletes entries directly; the trigger
-- lets through only entries an archive segment covers.

CREATE TABLE audit_archives (
    user_id             varchar(36)  NOT NULL,
    first_seq           INTEGER      NOT NULL,
    last_seq            INTEGER      NOT NULL,
    first_previous_hash varchar(64)  NOT NULL,
    last_hash           varchar(64)  NOT NULL,
    entries             INTEGER      NOT NULL,
    object_key          varchar(512) NOT NULL,
    object_sha256       varchar(64)  NOT NULL,
    key_id              INTEGER      NOT NULL,
    created_at          DATETIME     NOT NULL,
    PRIMARY KEY (user_id, first_seq),
    CONSTRAINT ck_audit_archives_range CHECK (first_seq >= 1 AND last_seq >= first_seq)
);
CREATE UNIQUE INDEX ux_audit_archives_user_last ON audit_archives (user_id, last_seq);

CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

DROP TRIGGER audit_logs_no_delete;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
WHEN NOT EXISTS (SELECT 1 FROM audit_archives a
                 WHERE a.user_id = OLD.user_id AND OLD.seq BETWEEN a.first_seq AND a.last_seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Exports walk the log in (timestamp, user, seq) order, a batch at a time.
CREATE INDEX ix_audit_logs_export ON audit_logs (timestamp, user_id, seq);

CREATE TABLE audit_alerts (
    id              varchar(64)  PRIMARY KEY,
    raised_at       DATETIME     NOT NULL,
    kind            varchar(32)  NOT NULL,
    summary         TEXT         NOT NULL,
    details         TEXT         NOT NULL DEFAULT '{}',
    acknowledged_at DATETIME,
    acknowledged_by varchar(36)  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_alerts_raised_at ON audit_alerts (raised_at);

CREATE TABLE audit_verifications (
    id             varchar(128) PRIMARY KEY,
    started_at     DATETIME     NOT NULL,
    finished_at    DATETIME     NOT NULL,
    from_checkpoint varchar(512) NOT NULL,
    new_checkpoint varchar(512) NOT NULL,
    chains         INTEGER      NOT NULL DEFAULT 0,
    valid          INTEGER      NOT NULL DEFAULT 0,
    failed         INTEGER      NOT NULL DEFAULT 0,
    unanchored     INTEGER      NOT NULL DEFAULT 0,
    alert_id       varchar(64)  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_verifications_finished_at ON audit_verifications (finished_at);
