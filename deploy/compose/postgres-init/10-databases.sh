#!/usr/bin/env bash
# First start of PostgreSQL only: a login and a database of its own for each service, which
# owns its database and reaches no other one. The passwords come from the compose file.
set -euo pipefail

for service in auth faults orders notify; do
  variable="${service^^}_DB_PASSWORD"
  password="${!variable:?$variable is not set}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v name="$service" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
