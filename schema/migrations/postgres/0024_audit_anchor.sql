-- 0024_audit_anchor: tamper evidence outside the database (issue 15).
-- Signed checkpoints of every chain head and signed archive segments live
-- in append-only object storage; the database records the segments it has
-- archived (audit_archives), the verification runs (audit_verifications)
-- and the security alerts they raised (audit_alerts). An audit entry may
-- now be deleted only when an archive segment covers it, and only through
-- audit_prune_archived (the app role has no DELETE on audit_logs).

CREATE TABLE audit_archives (
    user_id             varchar(36)  NOT NULL,
    first_seq           bigint       NOT NULL,
    last_seq            bigint       NOT NULL,
    first_previous_hash varchar(64)  NOT NULL,
    last_hash           varchar(64)  NOT NULL,
    entries             bigint       NOT NULL,
    object_key          varchar(512) NOT NULL,
    object_sha256       varchar(64)  NOT NULL,
    key_id              integer      NOT NULL,
    created_at          timestamptz  NOT NULL,
    PRIMARY KEY (user_id, first_seq),
    CONSTRAINT ck_audit_archives_range CHECK (first_seq >= 1 AND last_seq >= first_seq)
);
CREATE UNIQUE INDEX ux_audit_archives_user_last ON audit_archives (user_id, last_seq);

CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

CREATE FUNCTION audit_logs_delete_archived_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_archives a
               WHERE a.user_id = OLD.user_id AND OLD.seq BETWEEN a.first_seq AND a.last_seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'only entries covered by an archive segment (audit_archives) can be removed';
END;
$$;
DROP TRIGGER audit_logs_no_delete ON audit_logs;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_delete_archived_only();

-- Runs with the owner's rights: the app role may remove exactly the
-- entries of one archived segment, nothing else.
CREATE FUNCTION audit_prune_archived(p_user varchar, p_first bigint, p_last bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_archives
                   WHERE user_id = p_user AND first_seq = p_first AND last_seq = p_last) THEN
        RAISE EXCEPTION 'no archive segment % %-%', p_user, p_first, p_last;
    END IF;
    DELETE FROM audit_logs WHERE user_id = p_user AND seq BETWEEN p_first AND p_last;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

-- Exports walk the log in (timestamp, user, seq) order, a batch at a time.
CREATE INDEX ix_audit_logs_export ON audit_logs (timestamp, user_id, seq);

CREATE TABLE audit_alerts (
    id              varchar(64)  PRIMARY KEY,
    raised_at       timestamptz  NOT NULL,
    kind            varchar(32)  NOT NULL,
    summary         text         NOT NULL,
    details         text         NOT NULL DEFAULT '{}',
    acknowledged_at timestamptz,
    acknowledged_by varchar(36)  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_alerts_raised_at ON audit_alerts (raised_at);

CREATE TABLE audit_verifications (
    id             varchar(128) PRIMARY KEY,
    started_at     timestamptz  NOT NULL,
    finished_at    timestamptz  NOT NULL,
    from_checkpoint varchar(512) NOT NULL,
    new_checkpoint varchar(512) NOT NULL,
    chains         bigint       NOT NULL DEFAULT 0,
    valid          bigint       NOT NULL DEFAULT 0,
    failed         bigint       NOT NULL DEFAULT 0,
    unanchored     bigint       NOT NULL DEFAULT 0,
    alert_id       varchar(64)  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_verifications_finished_at ON audit_verifications (finished_at);
