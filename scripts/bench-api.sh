#!/usr/bin/env bash
# Requests per second of GET /api/v1/environment with a valid key, against a bare axum handler
# that answers 200, in the same run with the same load tool (wrk): on SQLite, then on PostgreSQL
# with one server and with two on the same database (a throwaway cluster, scripts/postgres.sh;
# the two are loaded at once, half the connections each). Target: Gatehouse reaches at least
# half of the bare handler. Usage: bash scripts/bench-api.sh [seconds] [connections]
set -euo pipefail
# Signed-in writes need the label a browser puts on them (the server refuses them otherwise).
curl() { command curl -H 'Sec-Fetch-Site: same-origin' "$@"; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[ -x target/release/gatehouse ] || bash scripts/build.sh
# Its own target directory: building it beside cargo-leptos's release build would rebuild the
# leptos crates without the site settings cargo-leptos compiles in.
CARGO_TARGET_DIR=target/bench cargo build -q --release -p gatehouse --example bare_ok

dir="$(mktemp -d)"
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
pids=()
trap cleanup EXIT
GATEHOUSE_DATABASE_URL="sqlite://$dir/bench.db" LEPTOS_SITE_ADDR=127.0.0.1:3200 \
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=bench@gatehouse.test GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="bench password 1" \
  RUST_LOG=warn target/release/gatehouse & pids+=($!)
target/bench/release/examples/bare_ok 127.0.0.1:3201 & pids+=($!)
for _ in $(seq 50); do curl -sf http://127.0.0.1:3200/healthz >/dev/null && break; sleep 0.2; done

jar="$dir/cookies"
curl -sf -c "$jar" -o /dev/null -d "email=bench@gatehouse.test&password=bench+password+1&next=" http://127.0.0.1:3200/auth/login
curl -sf -b "$jar" -o /dev/null -X POST http://127.0.0.1:3200/rpc/api_enable
key="$(curl -sf -b "$jar" -X POST -d 'slot=primary&purpose=show' http://127.0.0.1:3200/rpc/api_reveal | tr -d '"')"

run() {
  wrk -t2 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'
}
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:3200/api/v1/environment)
[ "$code" = 200 ] || { echo "the key was refused ($code)" >&2; exit 1; }
# Alternating rounds, so that drift in the machine's load hits both sides alike.
ratios=()
for round in 1 2 3; do
  bare=$(run http://127.0.0.1:3201/api/v1/environment)
  gate=$(run -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:3200/api/v1/environment)
  ratio=$(awk -v g="$gate" -v b="$bare" 'BEGIN { printf "%.2f", g / b }')
  ratios+=("$ratio")
  echo "round $round: bare axum handler $bare req/s, gatehouse $gate req/s, ratio $ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 2p)
echo "median ratio: $median (target >= 0.50)"

echo "== PostgreSQL"
cluster="$dir/postgres"
trap 'cleanup; bash scripts/postgres.sh stop "$cluster"' EXIT
url="$(bash scripts/postgres.sh start "$cluster")"
psql -q "$url" -c "CREATE DATABASE bench"
master="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
for port in 3202 3203; do
  GATEHOUSE_DATABASE_URL="${url%/postgres}/bench" GATEHOUSE_MASTER_KEY="$master" LEPTOS_SITE_ADDR=127.0.0.1:$port \
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=bench@gatehouse.test GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="bench password 1" \
    RUST_LOG=warn target/release/gatehouse & pids+=($!)
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
done
jar="$dir/pg-cookies"
curl -sf -c "$jar" -o /dev/null -d "email=bench@gatehouse.test&password=bench+password+1&next=" http://127.0.0.1:3202/auth/login
curl -sf -b "$jar" -o /dev/null -X POST http://127.0.0.1:3202/rpc/api_enable
key="$(curl -sf -b "$jar" -X POST -d 'slot=primary&purpose=show' http://127.0.0.1:3202/rpc/api_reveal | tr -d '"')"
for port in 3202 3203; do
  for _ in $(seq 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:$port/api/v1/environment)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "the key was refused on port $port ($code)" >&2; exit 1; }
done
half=$(( conns / 2 ))
for round in 1 2 3; do
  bare=$(run http://127.0.0.1:3201/api/v1/environment)
  one=$(run -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:3202/api/v1/environment)
  conns=$half
  a="$dir/a" b="$dir/b"
  run -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:3202/api/v1/environment >"$a" &
  run -H "Ocp-Apim-Subscription-Key: $key" http://127.0.0.1:3203/api/v1/environment >"$b"
  wait $!
  conns=$(( half * 2 ))
  two=$(awk '{ s += $1 } END { printf "%.2f", s }' "$a" "$b")
  echo "round $round: bare axum handler $bare req/s, one server on PostgreSQL $one req/s, two servers $two req/s"
done
