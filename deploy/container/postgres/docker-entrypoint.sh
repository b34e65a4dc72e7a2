#!/usr/bin/env bash
# The official postgres image's start, for what the compose file uses of it: a cluster made on
# the first start with a superuser password, every init script run once, then the server.
set -euo pipefail

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
: "${POSTGRES_USER:=postgres}"
export POSTGRES_USER

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  # A start that fails half-way leaves nothing behind, so the next one begins afresh.
  trap 'pg_ctl --pgdata="$PGDATA" --silent --mode=immediate stop 2>/dev/null; rm -rf "${PGDATA:?}"/*' ERR
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
  # Other containers connect over the network, always with a password.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  # The socket only, while the init scripts run: nobody else connects to a half-made cluster.
  pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses=''" start
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh) echo "running $script"; bash "$script" ;;
      *.sql) echo "running $script"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
               --dbname postgres --file "$script" ;;
      *) ;;
    esac
  done
  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
  trap - ERR
fi

if [[ "${1:-}" == postgres ]]; then
  shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
