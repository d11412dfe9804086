#!/bin/sh
# Run by the postgres image on its first start (an empty data directory), before any migration:
# identity_app, the role the service runs as, may log in with IDENTITY_APP_PASSWORD. The migrations,
# applied by the owner, grant it what the service needs and nothing more: no DDL, and the audit
# tables insert-only (their append-only triggers can be disabled only by their owner or a superuser).
# Elsewhere, do the same once: ALTER ROLE identity_app LOGIN PASSWORD '...' (README, "Production notes").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v password="$IDENTITY_APP_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE identity_app' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'identity_app') \gexec
ALTER ROLE identity_app LOGIN PASSWORD :'password';
SQL
