#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (docker-entrypoint-initdb.d). It creates the role the tradeexec api,
# worker and bot connect as: a plain login role that owns nothing. The
# tables belong to the role `tradeexec migrate` connects as (here the
# postgres superuser), and migrate grants the app role only SELECT,
# INSERT, UPDATE and DELETE (DATABASE_APP_ROLE, schema.GrantAppRole), so
# the app can neither disable nor drop the audit log's triggers.
# An existing volume skips this script: see README, Deployment.
set -eu
psql -v ON_ERROR_STOP=1 -v app_password="${TRADEEXEC_APP_DB_PASSWORD:?set TRADEEXEC_APP_DB_PASSWORD}" -v db="$POSTGRES_DB" \
	--username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE tradeexec_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO tradeexec_app;
SQL
