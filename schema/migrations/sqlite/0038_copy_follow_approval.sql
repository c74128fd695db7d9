-- 0038_copy_follow_approval: followers-only leaders approve their followers
-- (issue 17, SPEC US-011 #5 "approved followers"). A follow request to a
-- followers-only leader is 'pending' until the leader approves it
-- ('active') or declines it ('denied'); only active and paused follows are
-- followers (stats visible, fills copied). SQLite cannot change a CHECK:
-- the table is rebuilt (no table references copy_follows).

CREATE TABLE copy_follows_new (
    id            varchar(36)    PRIMARY KEY,
    follower_id   varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    leader_id     varchar(36)    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sizing_mode   varchar(16)    NOT NULL,
    multiplier    TEXT           NOT NULL,
    fixed_amount  TEXT           NOT NULL,
    max_position  TEXT           NOT NULL,
    loss_limit    TEXT           NOT NULL,
    status        varchar(16)    NOT NULL,
    status_reason varchar(300)   NOT NULL DEFAULT '',
    created_at    DATETIME       NOT NULL,
    updated_at    DATETIME       NOT NULL,
    CONSTRAINT ck_copy_follows_sizing CHECK (sizing_mode IN ('proportional', 'multiplier', 'fixed_amount')),
    CONSTRAINT ck_copy_follows_status CHECK (status IN ('active', 'paused', 'stopped', 'pending', 'denied')),
    CONSTRAINT ck_copy_follows_self CHECK (follower_id <> leader_id)
);
INSERT INTO copy_follows_new (id, follower_id, leader_id, sizing_mode, multiplier, fixed_amount, max_position, loss_limit,
    status, status_reason, created_at, updated_at)
SELECT id, follower_id, leader_id, sizing_mode, multiplier, fixed_amount, max_position, loss_limit,
    status, status_reason, created_at, updated_at FROM copy_follows;
DROP TABLE copy_follows;
ALTER TABLE copy_follows_new RENAME TO copy_follows;
CREATE UNIQUE INDEX ux_copy_follow ON copy_follows (follower_id, leader_id);
CREATE INDEX ix_copy_follows_leader ON copy_follows (leader_id, status, follower_id);
