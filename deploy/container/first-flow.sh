#!/usr/bin/env bash
# The README's first flow against an installation, set up from nothing through the staff API:
#
#   first-flow.sh BASE_URL
#
# Logs in as the first administrator (ADMIN_USERNAME, ADMIN_PASSWORD), installs a license
# signed with VENDOR_KEY (the vendor's private key, as `kundonline-license keygen` writes it),
# creates a customer, two facilities and a portal account with Order direkt, links them, sets
# where fault reports go; then logs in as that customer, reports a fault, and waits until it
# has become an order. Prints each answer; exits non-zero at the first that is wrong.
# CACERT names the portal's certificate when it is self-signed.
set -euo pipefail

B="${1:?usage: first-flow.sh BASE_URL}"
: "${ADMIN_USERNAME:=admin}"
: "${ADMIN_PASSWORD:?ADMIN_PASSWORD is not set}"
: "${VENDOR_KEY:?VENDOR_KEY (the license vendor private key file) is not set}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
LICENSE_TOOL="${LICENSE_TOOL:-$REPO/.venv/bin/kundonline-license}"

curl_opts=(-sS --max-time 30 -H 'content-type: application/json')
if [ -n "${CACERT:-}" ]; then curl_opts+=(--cacert "$CACERT"); fi

# One call: prints "<status> <body>" into $reply and fails on an unexpected status.
call() {
  local expect="$1" method="$2" path="$3"
  shift 3
  local out status
  out="$(curl "${curl_opts[@]}" -X "$method" -w '\n%{http_code}' "$B$path" "$@")"
  status="${out##*$'\n'}"
  reply="${out%$'\n'*}"
  if [[ "$status" != "$expect" ]]; then
    echo "$method $path answered $status, expected $expect: $reply" >&2
    return 1
  fi
}

# The services learn of each other's changes through Kafka: a request that depends on a change
# made a moment ago may answer 422 (or 404) until it has arrived.
call_until() {
  local deadline=$((SECONDS + 30))
  until call "$@" 2>/dev/null; do
    if ((SECONDS > deadline)); then call "$@"; fi
    sleep 0.3
  done
}

show() { printf '%s\n' "$1" >&2; jq -c . <<<"$reply" >&2; }

run_id="$(date +%s)"

call 200 POST /admin/api/auth/login \
  -d "$(jq -nc --arg u "$ADMIN_USERNAME" --arg p "$ADMIN_PASSWORD" '{username: $u, password: $p}')"
S="$(jq -r .access_token <<<"$reply")"
AUTH=(-H "Authorization: Bearer $S")
echo "staff login: ok" >&2

license="$(mktemp)"
trap 'rm -f "$license"' EXIT
"$LICENSE_TOOL" issue --key "$VENDOR_KEY" --licensee "Kyl & Ventilation AB" --max-accounts 25 \
  --expires "$(date -d '+1 year' +%F)" --out "$license"
call 200 PUT /admin/api/license "${AUTH[@]}" --data @"$license"
show "license:"

call 201 POST /admin/api/customers "${AUTH[@]}" \
  -d '{"name":"Bostads AB Ekbacken","our_reference":{"name":"Sara Säljare","email":"sara@example.com"}}'
C="$(jq -r .id <<<"$reply")"
show "customer:"

call 201 POST /admin/api/facilities "${AUTH[@]}" -d "{\"customer_id\":\"$C\",
  \"name\":\"Undercentral Ekbacken 2\",\"address\":\"Ekvägen 2\",\"city\":\"Västerås\",
  \"reference_number\":\"EK-2\",\"categories\":[\"Värme\"]}"
F1="$(jq -r .id <<<"$reply")"
show "facility:"
call 201 POST /admin/api/facilities "${AUTH[@]}" -d "{\"customer_id\":\"$C\",
  \"name\":\"Hiss Ekbacken 4\",\"city\":\"Västerås\",\"reference_number\":\"EK-4\",
  \"categories\":[\"Hiss\"]}"
F2="$(jq -r .id <<<"$reply")"
show "facility:"

username="eva.ekbacken.$run_id"
call_until 201 POST /admin/api/accounts "${AUTH[@]}" -d "{\"customer_id\":\"$C\",
  \"name\":\"Eva Ekbacken\",\"username\":\"$username\",\"password\":\"ekbacken-losen-1\",
  \"email\":\"eva@example.com\",\"order_direct\":true}"
A="$(jq -r .id <<<"$reply")"
show "account:"
call_until 200 PUT "/admin/api/accounts/$A/facilities" "${AUTH[@]}" \
  -d "{\"facility_ids\":[\"$F1\",\"$F2\"]}"
show "linked facilities:"

call 200 GET /admin/api/settings "${AUTH[@]}"
settings="$(jq -c '. + {fault_report_email: "service@example.com", show_order_rows: true}' \
  <<<"$reply")"
call 200 PUT /admin/api/settings "${AUTH[@]}" -d "$settings"
echo "settings: fault reports to service@example.com" >&2

# The README's first flow, as the customer.
call 200 POST /api/auth/login \
  -d "{\"username\":\"$username\",\"password\":\"ekbacken-losen-1\"}"
T="$(jq -r .access_token <<<"$reply")"
CUSTOMER=(-H "Authorization: Bearer $T")
echo "customer login: ok" >&2
call_until 200 GET /api/facilities "${CUSTOMER[@]}"
show "GET /api/facilities:"
F="$(jq -r '.items[0].id' <<<"$reply")"
call_until 201 POST /api/faults "${CUSTOMER[@]}" -d "{\"facility_id\":\"$F\",
  \"description\":\"Fläkten låter\",\"contact\":{\"name\":\"Kalle\",\"email\":\"kalle@example.com\"}}"
show "POST /api/faults:"
fault="$(jq -r .id <<<"$reply")"

deadline=$((SECONDS + 60))
while :; do
  call 200 GET /api/faults "${CUSTOMER[@]}"
  status="$(jq -r --arg id "$fault" '.items[] | select(.id == $id) | .status' <<<"$reply")"
  [[ "$status" == order_created ]] && break
  if ((SECONDS > deadline)); then
    echo "the fault is still '$status' after 60 s; Order direkt made no order" >&2
    exit 1
  fi
  sleep 0.5
done
show "GET /api/faults:"
call 200 GET /api/orders "${CUSTOMER[@]}"
show "GET /api/orders:"
jq -e '.items | length >= 1' <<<"$reply" >/dev/null
echo "first flow: the fault became order $(jq -r '.items[0].order_number' <<<"$reply")" >&2
