-- 0041_paper_working: the paper matching pass (every 250 ms) lists the
-- accounts with a working order. It selected them by the JSON's prefix
-- (state LIKE '{"working":true,%'), which reads every account's whole
-- state — its orders of 30 days — on every pass. working is that same
-- test as a generated column, so a process of any version that writes
-- state keeps it true, and the pass reads the partial index of the
-- working accounts' ids and versions instead of the table.
ALTER TABLE paper_accounts ADD COLUMN working INTEGER GENERATED ALWAYS AS (state LIKE '{"working":true,%') VIRTUAL;
CREATE INDEX ix_paper_accounts_working ON paper_accounts (id, version) WHERE working;
