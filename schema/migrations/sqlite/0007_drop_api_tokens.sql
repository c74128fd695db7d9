-- 0007_drop_api_tokens: the spine's temporary bearer tokens were replaced by
-- accounts (JWT access tokens + hashed refresh tokens in sessions); nothing
-- reads or writes api_tokens any more.

DROP INDEX IF EXISTS idx_api_tokens_token_hash;
DROP INDEX IF EXISTS idx_api_tokens_user_id;
DROP TABLE IF EXISTS api_tokens;
