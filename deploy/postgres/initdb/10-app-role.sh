#!/bin/sh
# Runs once, when the postgres service starts on an empty volume (docker-entrypoint-initdb.d):
# creates the restricted role the app connects as (deploy/postgres/app-role.sql). The tables do
# not exist yet; the default privileges given here cover the ones the migrate service creates.
# POSTGRES_USER (the owner: migrations run as it) and PULT_DB_APP_USER / PULT_DB_APP_PASSWORD
# come from docker-compose.yml.
set -eu
: "${PULT_DB_APP_USER:=pult_app}"
if [ -z "${PULT_DB_APP_PASSWORD:-}" ]; then
    echo "10-app-role.sh: PULT_DB_APP_PASSWORD is empty; set it in .env" >&2
    exit 1
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_role="$PULT_DB_APP_USER" -v app_password="$PULT_DB_APP_PASSWORD" <<'SQL'
SELECT set_config('pult.app_role', :'app_role', false), set_config('pult.app_password', :'app_password', false);
\i /pult/app-role.sql
SQL
