#!/usr/bin/env bash
# Brings the one-server install up and waits until the portal is ready:
#
#   ./up.sh [--env-file FILE] [-p PROJECT] [-f EXTRA_COMPOSE_FILE]...
#
# 1. The settings file (default .env here) is made from .env.example when missing, and every
#    secret in it left empty is generated and written back (the file is kept 0600).
# 2. Without $KUNDONLINE_TLS_DIR/portal.crt and portal.key, a self-signed pair is made for
#    $KUNDONLINE_PUBLIC_HOST (replace it with your own; the gateway reads it at start).
# 3. `compose up -d` (./compose.sh: docker compose, or podman-compose where there is no docker).
#    Then it waits for https://127.0.0.1:<port>/readyz and prints how long the start took.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

env_file="$HERE/.env"
files=(-f "$HERE/compose.yaml")
project=()
while (($#)); do
  case "$1" in
    --env-file) env_file="$(realpath -m "${2:?}")"; shift 2 ;;
    -p) project=(-p "${2:?}"); shift 2 ;;
    -f) files+=(-f "$(realpath "${2:?}")"); shift 2 ;;
    *) echo "usage: up.sh [--env-file FILE] [-p PROJECT] [-f COMPOSE_FILE]..." >&2; exit 2 ;;
  esac
done

say() { echo "up: $*" >&2; }

setting() { sed -n "s/^$1=//p" "$env_file" | tail -n1; }

put_setting() {
  local name="$1" value="$2"
  if grep -q "^$name=" "$env_file"; then
    sed -i "s|^$name=.*|$name=$value|" "$env_file"
  else
    printf '%s=%s\n' "$name" "$value" >>"$env_file"
  fi
}

hex() { openssl rand -hex "$1"; }
base64url() { openssl rand -base64 "$1" | tr '+/' '-_' | tr -d '=\n'; }

fill_secrets() {
  if [ ! -f "$env_file" ]; then
    (umask 077 && cp "$HERE/.env.example" "$env_file")
    say "made $env_file from .env.example: check the SMTP settings and the license key in it"
  fi
  chmod 600 "$env_file"
  local name
  for name in POSTGRES_PASSWORD AUTH_DB_PASSWORD FAULTS_DB_PASSWORD ORDERS_DB_PASSWORD \
    NOTIFY_DB_PASSWORD; do
    [ -n "$(setting "$name")" ] || put_setting "$name" "$(hex 24)"
  done
  [ -n "$(setting KUNDONLINE_INTERNAL_TOKEN_SECRET)" ] ||
    put_setting KUNDONLINE_INTERNAL_TOKEN_SECRET "$(base64url 48)"
  [ -n "$(setting KUNDONLINE_RATING_LINK_SECRET)" ] ||
    put_setting KUNDONLINE_RATING_LINK_SECRET "$(base64url 48)"
  [ -n "$(setting KAFKA_CLUSTER_ID)" ] || put_setting KAFKA_CLUSTER_ID "$(base64url 16)"
  if [ -z "$(setting KUNDONLINE_ADMIN_PASSWORD)" ]; then
    put_setting KUNDONLINE_ADMIN_PASSWORD "$(hex 12)"
    say "generated the first administrator's password: KUNDONLINE_ADMIN_PASSWORD in $env_file"
  fi
}

make_certificate() {
  local dir host
  dir="$(setting KUNDONLINE_TLS_DIR)"
  dir="${dir:-./tls}"
  [[ "$dir" == /* ]] || dir="$HERE/$dir"
  host="$(setting KUNDONLINE_PUBLIC_HOST)"
  host="${host:-localhost}"
  if [ -s "$dir/portal.crt" ] && [ -s "$dir/portal.key" ]; then return; fi
  mkdir -p "$dir"
  say "no certificate in $dir: making a self-signed one for $host (replace it with your own)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/portal.key" -out "$dir/portal.crt" 2>/dev/null
  chmod 600 "$dir/portal.key"
  # The gateway runs as uid 10001 and must read the key; nobody else need.
  if [ "$(id -u)" -eq 0 ]; then
    chown 10001:10001 "$dir/portal.key"
  elif ! "$HERE/compose.sh" version 2>/dev/null | grep -q "^Docker"; then
    podman unshare chown 10001:10001 "$dir/portal.key"
  else
    chmod 644 "$dir/portal.key"
    say "made $dir/portal.key readable by all: the container's uid 10001 must read it"
  fi
}

wait_ready() {
  local port url start=$SECONDS
  port="$(setting KUNDONLINE_PUBLISH_PORT)"
  url="https://127.0.0.1:${port:-49148}/readyz"
  say "waiting for $url"
  until curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$url" 2>/dev/null | grep -q 200; do
    if ((SECONDS - start > ${READY_TIMEOUT:-300})); then
      say "not ready after ${READY_TIMEOUT:-300} s; see: $HERE/compose.sh logs"
      curl -sk --max-time 5 "$url" >&2 || true
      exit 1
    fi
    sleep 1
  done
  say "ready: https://127.0.0.1:${port:-49148}/ ($((SECONDS - start)) s after compose up)"
}

# What only the operator can know; the shell's environment counts too, as it does for compose.
check_given() {
  local name missing=()
  for name in KUNDONLINE_LICENSE_PUBLIC_KEY KUNDONLINE_SMTP_HOST KUNDONLINE_MAIL_FROM; do
    [ -n "${!name:-$(setting "$name")}" ] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    say "set ${missing[*]} in $env_file first"
    exit 1
  fi
}

fill_secrets
check_given
make_certificate
"$HERE/compose.sh" "${project[@]}" --env-file "$env_file" "${files[@]}" up -d
wait_ready
