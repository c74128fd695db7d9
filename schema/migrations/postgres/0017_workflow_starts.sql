-- 0017_workflow_starts: accepting a signal is durable by itself. The trade
-- (or the Discord message) and the request to start its workflow are
-- written in one transaction; the start is attempted at once and, while
-- Temporal does not answer, by the start relay in every api and worker
-- process (internal/starts). A row is deleted once its workflow exists.

CREATE TABLE workflow_starts (
    id            varchar(36)  PRIMARY KEY,
    workflow_id   varchar(255) NOT NULL,
    workflow_type varchar(64)  NOT NULL,
    kind          varchar(16)  NOT NULL,
    ref_id        varchar(64)  NOT NULL,
    task_queue    varchar(128) NOT NULL,
    input         text         NOT NULL,
    memo          text         NOT NULL,
    search_attrs  text         NOT NULL,
    created_at    timestamptz  NOT NULL,
    next_at       timestamptz  NOT NULL,
    expires_at    timestamptz,
    attempts      integer      NOT NULL DEFAULT 0,
    last_error    varchar(300) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_workflow_starts_workflow_id ON workflow_starts (workflow_id);
CREATE INDEX idx_workflow_starts_next ON workflow_starts (next_at);
