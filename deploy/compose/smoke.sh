#!/usr/bin/env bash
# The one-server install, for real, on this machine: up under the project name
# kundonline-smoke with settings of its own (.run/compose-smoke/, a mail sink in place of a
# relay, a vendor key made here, the portal on a free port of 127.0.0.1), the README's first
# flow through the portal, the fault report's mail in the sink; then down with its volumes
# (KEEP=1 leaves it running). Needs `make image`; KAFKA_IMAGE and POSTGRES_IMAGE default to the
# ones deploy/container/images.sh builds from Debian.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

PROJECT=kundonline-smoke
STATE="$REPO/.run/compose-smoke"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)"
KUNDONLINE_IMAGE="${KUNDONLINE_IMAGE:-localhost/kundonline:$VERSION}"

say() { echo "smoke: $*" >&2; }

if [ -z "${KAFKA_IMAGE:-}" ] || [ -z "${POSTGRES_IMAGE:-}" ]; then
  eval "$(bash deploy/container/images.sh)"
fi

rm -rf "$STATE"
mkdir -p "$STATE"
env_file="$STATE/.env"
port="$(.venv/bin/python -c 'from kundonline_devstack.ports import free_port; print(free_port())')"
public_key="$(.venv/bin/kundonline-license keygen --private "$STATE/vendor.key" \
  --public "$STATE/vendor.pub")"
cp deploy/compose/.env.example "$env_file"
cat >>"$env_file" <<ENV

# smoke.sh
KUNDONLINE_IMAGE=$KUNDONLINE_IMAGE
KAFKA_IMAGE=$KAFKA_IMAGE
POSTGRES_IMAGE=$POSTGRES_IMAGE
KUNDONLINE_PUBLISH_ADDRESS=127.0.0.1
KUNDONLINE_PUBLISH_PORT=$port
KUNDONLINE_TLS_DIR=$STATE/tls
KUNDONLINE_PUBLIC_HOST=localhost
KUNDONLINE_LICENSE_PUBLIC_KEY=$public_key
KUNDONLINE_SMTP_HOST=mailsink
KUNDONLINE_SMTP_PORT=1025
KUNDONLINE_SMTP_STARTTLS=false
KUNDONLINE_MAIL_FROM=KundOnline <kundonline@localhost>
ENV

compose=("$HERE/compose.sh" -p "$PROJECT" --env-file "$env_file"
  -f "$HERE/compose.yaml" -f "$HERE/compose.smoke.yaml")
down() {
  if [ -z "${KEEP:-}" ]; then
    "${compose[@]}" down -v -t 20 >/dev/null 2>&1 || true
  else
    say "left running: ${compose[*]} ps"
  fi
}
trap down EXIT

# Whatever an earlier run left behind.
"${compose[@]}" down -v -t 5 >/dev/null 2>&1 || true

start=$SECONDS
"$HERE/up.sh" -p "$PROJECT" --env-file "$env_file" -f "$HERE/compose.smoke.yaml"
say "up and ready in $((SECONDS - start)) s"
"${compose[@]}" ps >&2 || true

admin_password="$(sed -n 's/^KUNDONLINE_ADMIN_PASSWORD=//p' "$env_file" | tail -n1)"
ADMIN_PASSWORD="$admin_password" VENDOR_KEY="$STATE/vendor.key" CACERT="$STATE/tls/portal.crt" \
  bash deploy/container/first-flow.sh "https://localhost:$port"

# notify mailed the report to the settings' address (service@example.com).
deadline=$((SECONDS + 60))
until "${compose[@]}" logs mailsink 2>/dev/null | grep -q "service@example.com"; do
  if ((SECONDS > deadline)); then
    say "no mail to service@example.com reached the sink in 60 s"
    exit 1
  fi
  sleep 1
done
say "the fault report's mail reached the sink:"
"${compose[@]}" logs mailsink 2>/dev/null | grep -aE "^(b')?(From|To|Subject):" | sort -u >&2 || true
say "ok"
