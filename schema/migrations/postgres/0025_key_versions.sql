-- 0025_key_versions (PostgreSQL): the key-rotation workflow counts stored vault
-- ciphertext by key version (a version is retired only when no row names
-- it) and pages through the rows not yet under the new version.

CREATE INDEX ix_broker_connections_key_version ON broker_connections (key_version, id);
CREATE INDEX ix_broker_oauth_states_key_version ON broker_oauth_states (key_version, id);
