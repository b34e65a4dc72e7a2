#!/usr/bin/env bash
# `docker compose`, or podman-compose where there is no docker (from PATH, or the one
# deploy/container/setup.sh installs); $COMPOSE names another command. Arguments pass on:
#   ./compose.sh --env-file .env -f compose.yaml ps
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

if [ -n "${COMPOSE:-}" ]; then
  read -ra compose <<<"$COMPOSE"
elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v podman-compose >/dev/null; then
  compose=(podman-compose)
elif [ -x "$REPO/.cache/tools/podman-compose/bin/podman-compose" ]; then
  compose=("$REPO/.cache/tools/podman-compose/bin/podman-compose")
else
  echo "neither docker compose nor podman-compose found (deploy/container/setup.sh installs" \
    "podman-compose)" >&2
  exit 1
fi
exec "${compose[@]}" "$@"
