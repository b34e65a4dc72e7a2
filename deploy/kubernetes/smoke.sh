#!/usr/bin/env bash
# The Kubernetes Deployments, for real, with podman kube play on this machine: the podman
# overlay of the base (render.sh, then playable.py keeps what podman plays) on a podman network
# of its own, beside Kafka, PostgreSQL and a mail sink as pods (podman/infra.yaml); the secrets
# are podman secrets made here. Every replica must answer /readyz; then the README's first flow
# runs through the gateway's first pod. Everything is taken down at the end (KEEP=1 leaves it).
# Needs `make image`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

NETWORK=kundonline-kube
STATE="$REPO/.run/kube-smoke"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)"
IMAGE="${KUNDONLINE_IMAGE:-localhost/kundonline:$VERSION}"
SECRETS=(kundonline-postgres kundonline-common kundonline-auth kundonline-faults
  kundonline-orders kundonline-notify)
# podman/infra.yaml's and the podman overlay's emptyDirs, which podman keeps as named volumes.
VOLUMES=(kundonline-kafka-data kundonline-postgres-data kundonline-tmp)
declare -A PORTS=([gateway]=49148 [auth]=49151 [faults]=49152 [orders]=49153 [notify]=49154)

say() { echo "kube: $*" >&2; }

if [ -z "${KAFKA_IMAGE:-}" ] || [ -z "${POSTGRES_IMAGE:-}" ]; then
  eval "$(bash deploy/container/images.sh)"
fi

down() {
  local file
  for file in "$STATE/play.yaml" "$STATE/infra.yaml"; do
    if [ -f "$file" ]; then podman kube down "$file" >/dev/null 2>&1 || true; fi
  done
  podman secret rm "${SECRETS[@]}" >/dev/null 2>&1 || true
  podman volume rm -f "${VOLUMES[@]}" >/dev/null 2>&1 || true
  podman network rm "$NETWORK" >/dev/null 2>&1 || true
}
finish() {
  if [ -z "${KEEP:-}" ]; then down; else say "left running: podman pod ls; $0 cleans up first"; fi
}

down # whatever an earlier run left
rm -rf "$STATE"
mkdir -p "$STATE"
trap finish EXIT
podman network create "$NETWORK" >/dev/null

# A podman secret is a JSON object of base64 values; each key becomes a variable.
secret() {
  local name="$1" args=() filter="{}"
  shift
  while (($#)); do
    args+=(--arg "${1%%=*}" "${1#*=}")
    filter+=" + {\"${1%%=*}\": (\$${1%%=*} | @base64)}"
    shift
  done
  jq -nc "${args[@]}" "$filter" | podman secret create "$name" - >/dev/null
}

hex() { openssl rand -hex "$1"; }
declare -A db
for service in auth faults orders notify; do db[$service]="$(hex 24)"; done
admin_password="$(hex 12)"
secret kundonline-postgres POSTGRES_PASSWORD="$(hex 24)" AUTH_DB_PASSWORD="${db[auth]}" \
  FAULTS_DB_PASSWORD="${db[faults]}" ORDERS_DB_PASSWORD="${db[orders]}" \
  NOTIFY_DB_PASSWORD="${db[notify]}"
secret kundonline-common KUNDONLINE_INTERNAL_TOKEN_SECRET="$(openssl rand -base64 48)"
url() { echo "postgresql+asyncpg://$1:${db[$1]}@postgres:5432/$1"; }
secret kundonline-auth KUNDONLINE_AUTH_DATABASE_URL="$(url auth)" \
  KUNDONLINE_ADMIN_PASSWORD="$admin_password"
secret kundonline-faults KUNDONLINE_FAULTS_DATABASE_URL="$(url faults)"
rating_secret="$(openssl rand -base64 48)"
secret kundonline-orders KUNDONLINE_ORDERS_DATABASE_URL="$(url orders)" \
  KUNDONLINE_RATING_LINK_SECRET="$rating_secret"
secret kundonline-notify KUNDONLINE_NOTIFY_DATABASE_URL="$(url notify)" \
  KUNDONLINE_RATING_LINK_SECRET="$rating_secret"
public_key="$(.venv/bin/kundonline-license keygen --private "$STATE/vendor.key" \
  --public "$STATE/vendor.pub")"

cluster_id="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"
sed -e "s|@KAFKA_IMAGE@|$KAFKA_IMAGE|" -e "s|@POSTGRES_IMAGE@|$POSTGRES_IMAGE|" \
  -e "s|@KUNDONLINE_IMAGE@|$IMAGE|" -e "s|@KAFKA_CLUSTER_ID@|$cluster_id|" -e "s|@REPO@|$REPO|" \
  "$HERE/podman/infra.yaml" >"$STATE/infra.yaml"
podman kube play --network "$NETWORK" "$STATE/infra.yaml" >/dev/null

bash "$HERE/render.sh" "$HERE/podman" |
  .venv/bin/python "$HERE/playable.py" --image "$IMAGE" \
    --set "KUNDONLINE_LICENSE_PUBLIC_KEY=$public_key" >"$STATE/play.yaml"
say "playing $(grep -c '^kind: Deployment' "$STATE/play.yaml") Deployments from $IMAGE"
start=$SECONDS
podman kube play --network "$NETWORK" "$STATE/play.yaml" >/dev/null

address() {
  podman inspect "$(podman pod inspect "$1" --format '{{.InfraContainerID}}')" \
    --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'
}

# Every replica of every Deployment, until each answers /readyz.
pods=()
mapfile -t pods < <(podman pod ls --format '{{.Name}}' | grep -E -- '-pod-[0-9]+$' | sort)
for pod in "${pods[@]}"; do
  deployment="${pod%-pod-*}"
  url="http://$(address "$pod"):${PORTS[$deployment]}/readyz"
  until [ "$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$url")" = 200 ]; do
    if ((SECONDS - start > ${READY_TIMEOUT:-300})); then
      say "$pod is not ready: $(curl -s --max-time 3 "$url")"
      podman logs --tail 20 "$pod-$deployment" >&2 || true
      exit 1
    fi
    sleep 1
  done
done
say "${#pods[@]} pods ready $((SECONDS - start)) s after podman kube play"
podman pod ls --format '{{.Name}} {{.Status}} {{.NumberOfContainers}}' | sort >&2

gateway="http://$(address gateway-pod-0):49148"
say "the first flow through gateway-pod-0 at $gateway"
ADMIN_PASSWORD="$admin_password" VENDOR_KEY="$STATE/vendor.key" \
  bash deploy/container/first-flow.sh "$gateway"

deadline=$((SECONDS + 60))
until podman logs mailsink-mailsink 2>/dev/null | grep -q "service@example.com"; do
  if ((SECONDS > deadline)); then
    say "no mail to service@example.com reached the sink in 60 s"
    exit 1
  fi
  sleep 1
done
say "the fault report's mail reached the sink"
say "ok"
