#!/usr/bin/env bash
# Latency and throughput of POST /api/v1/lockbox/check (a platform service asking whether a
# support application's Lockbox request is live) for a live approved request, against a bare
# axum handler that answers a fixed JSON body, in the same run with the same load tool (wrk).
# Usage: bash scripts/bench-lockbox-check.sh [seconds] [connections]
set -euo pipefail
# Signed-in writes need the label a browser puts on them (the server refuses them otherwise).
curl() { command curl -H 'Sec-Fetch-Site: same-origin' "$@"; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[ -x target/release/gatehouse ] || bash scripts/build.sh
# Its own target directory, as in bench-api.sh.
CARGO_TARGET_DIR=target/bench cargo build -q --release -p gatehouse --example bare_ok

dir="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
base=http://127.0.0.1:3200
GATEHOUSE_DATABASE_URL="sqlite://$dir/bench.db" LEPTOS_SITE_ADDR=127.0.0.1:3200 \
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=bench@gatehouse.test GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="bench password 1" \
  RUST_LOG=warn target/release/gatehouse & pids+=($!)
target/bench/release/examples/bare_ok 127.0.0.1:3201 & pids+=($!)
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

jar="$dir/cookies"
curl -sf -c "$jar" -o /dev/null -d "email=bench@gatehouse.test&password=bench+password+1&next=" "$base/auth/login"
curl -sf -b "$jar" -o /dev/null -X POST "$base/rpc/api_enable"
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
add_app() { # name role
  curl -sf -b "$jar" -X POST --data-urlencode "principal=$1" -d "kind=application&role=$2" "$base/rpc/principals_add"
}
support="$(add_app 'Support tooling' viewer)"
support_secret="$(field "['client_secret']" <<<"$support")"
support_id="$(field "['principal']['emailOrId']" <<<"$support")"
# Only a Support application may file; only an Admin-role application (or the filer) may check.
curl -sf -b "$jar" -o /dev/null -X POST \
  -d "id=$(field "['principal']['id']" <<<"$support")&role=viewer&confirm_self=false&support_application=true" \
  "$base/rpc/principals_change_role"
service_secret="$(add_app 'Billing service' admin | field "['client_secret']")"
# With the policy off a request is approved at once: a live window for the whole run.
request="$(curl -sf -X POST -H "Authorization: Bearer $support_secret" -H 'Content-Type: application/json' \
  -d '{"ticket":"BENCH-1","justification":"benchmark","engineer":{"name":"Bench","email":"bench@support.test"}}' \
  "$base/api/v1/lockbox/requests" | field "['id']")"
body="{\"request\": $request, \"application\": \"$support_id\"}"
answer="$(curl -sf -X POST -H "Authorization: Bearer $service_secret" -H 'Content-Type: application/json' -d "$body" "$base/api/v1/lockbox/check")"
[ "$(field "['active']" <<<"$answer")" = True ] || { echo "the check did not answer active: $answer" >&2; exit 1; }

lua="$dir/post.lua"
cat >"$lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $service_secret"
LUA
run() {
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "$1" |
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {printf "p50 %s, p99 %s, %s req/s", p50, p99, rps}'
}
# Alternating rounds, so that drift in the machine's load hits both sides alike.
for round in 1 2 3; do
  echo "round $round: bare axum handler $(run http://127.0.0.1:3201/api/v1/lockbox/check)"
  echo "round $round: gatehouse check    $(run "$base/api/v1/lockbox/check")"
done
