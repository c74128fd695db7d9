-- 0038_copy_follow_approval: followers-only leaders approve their followers
-- (issue 17, SPEC US-011 #5 "approved followers"). A follow request to a
-- followers-only leader is 'pending' until the leader approves it
-- ('active') or declines it ('denied'); only active and paused follows are
-- followers (stats visible, fills copied).

ALTER TABLE copy_follows DROP CONSTRAINT ck_copy_follows_status;
ALTER TABLE copy_follows ADD CONSTRAINT ck_copy_follows_status
    CHECK (status IN ('active', 'paused', 'stopped', 'pending', 'denied'));
