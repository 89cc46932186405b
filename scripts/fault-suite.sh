#!/usr/bin/env bash
# The fault suite, against the release server on a fresh database:
#   1. slowloris: 1,000 sockets that never finish their headers; /healthz must answer within 1 s
#      and the server must close them after its header time limit;
#   2. a sign-in flood: rounds of 200 concurrent wrong sign-ins from 200 loopback addresses,
#      resident memory sampled (must stay under 400 MB; no 5xx but 503 "busy");
#   3. 200 concurrent admin writes (role changes, key regenerations, invitations): no 5xx, no
#      "database is locked", every accepted write audited and stored (nothing lost);
#   4. schemathesis (PyPI) against /api/v1/openapi.json, as an Admin application: no 5xx, and
#      every answer fits the document (status codes, content types, schemas);
#   5. kill -9 of the server during writes, N times (default 50), each followed by a restart and
#      PRAGMA integrity_check, with the admin and the API keys still there.
# Usage: bash scripts/fault-suite.sh [kills]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
kills="${1:-50}"
[ -x target/release/gatehouse ] || bash scripts/build.sh

dir="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port=3230
export GATEHOUSE_DATABASE_URL="sqlite://$dir/fault.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=fault@gatehouse.test GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="fault suite password" \
  GATEHOUSE_LOGIN_ATTEMPTS_PER_MINUTE=100000 GATEHOUSE_HEADER_TIMEOUT_SECONDS=10 RUST_LOG=error
start() {
  target/release/gatehouse 2>>"$dir/server.log" & pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
  echo "the server did not start" >&2; exit 1
}
suite() { python3 scripts/fault_suite.py "$@" --port "$port" --pid "$pid"; }
failed=0
start
suite slowloris --sockets 1000 --header-timeout 10 || failed=1
suite flood --rounds 3 || failed=1
suite writes --db "$dir/fault.db" || failed=1

# Keys exist before the kills, so that their survival is checked too.
jar="$dir/jar"
curl -sf -c "$jar" -o /dev/null -d "email=fault%40gatehouse.test&password=fault+suite+password&next=" "http://127.0.0.1:$port/auth/login"
curl -sf -b "$jar" -H 'Sec-Fetch-Site: same-origin' -o /dev/null -X POST "http://127.0.0.1:$port/rpc/api_enable"

command -v st >/dev/null || pip install -q schemathesis
secret="$(curl -sf -b "$jar" -H 'Sec-Fetch-Site: same-origin' -X POST \
  -d 'kind=application&role=admin&principal=Schemathesis' "http://127.0.0.1:$port/rpc/principals_add" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
if st run "http://127.0.0.1:$port/api/v1/openapi.json" --url "http://127.0.0.1:$port/api/v1" \
  -H "Authorization: Bearer $secret" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 50 --seed 1 >"$dir/schemathesis.txt" 2>&1; then
  echo "schemathesis: $(grep -aE 'passed|failed' "$dir/schemathesis.txt" | tail -1)"
else
  echo "schemathesis: failures (last lines below)"; tail -40 "$dir/schemathesis.txt"; failed=1
fi
bad=0
for n in $(seq "$kills"); do
  # Writes in flight (role changes and key regenerations), then the kill.
  for i in $(seq 10); do
    curl -s -b "$jar" -H 'Sec-Fetch-Site: same-origin' -o /dev/null -X POST \
      -d "slot=secondary&grace=now" "http://127.0.0.1:$port/rpc/api_regenerate" &
  done
  sleep 0.0$((RANDOM % 9 + 1))
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  wait
  start
  python3 scripts/fault_suite.py integrity --db "$dir/fault.db" >"$dir/integrity.txt" || { bad=$((bad + 1)); cat "$dir/integrity.txt"; }
  curl -sf -c "$jar" -o /dev/null -d "email=fault%40gatehouse.test&password=fault+suite+password&next=" "http://127.0.0.1:$port/auth/login" || bad=$((bad + 1))
done
echo "kill -9: $kills kills during writes, each restarted: $bad failed the integrity, key or sign-in check"
[ "$bad" -eq 0 ] || failed=1
exit "$failed"
