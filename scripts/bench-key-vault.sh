#!/usr/bin/env bash
# Key Vault timings against a real local OpenBao dev server and the release server:
# the set-up check (POST /rpc/key_vault_check) and a webhook connection's Verify, p50 and max
# over N runs each; then GET /api/v1/connections/{name}/credential with a warm cache (the
# value reused, the default 60 s) and a cold one (GATEHOUSE_KEY_VAULT_CACHE_SECONDS=0: read
# from the vault on every call), against a stored (sealed) credential as the baseline.
# Usage: bash scripts/bench-key-vault.sh [runs]
set -euo pipefail
# Signed-in writes need the label a browser puts on them (the server refuses them otherwise).
curl() { command curl -H 'Sec-Fetch-Site: same-origin' "$@"; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs="${1:-20}"
[ -x target/release/gatehouse ] || bash scripts/build.sh
command -v bao >/dev/null || bash scripts/setup.sh test

dir="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
token=bench-root-token
# (OpenBao also takes the next port, 3211, for its cluster listener.)
bao server -dev -dev-root-token-id=$token -dev-listen-address=127.0.0.1:3210 >/dev/null 2>&1 & pids+=($!)
vault=http://127.0.0.1:3210
for _ in $(seq 100); do curl -sf -o /dev/null -H "X-Vault-Token: $token" "$vault/v1/sys/mounts/secret/tune" && break; sleep 0.1; done
curl -sf -o /dev/null -H "X-Vault-Token: $token" -d '{"data":{"value":"bench-hook-secret"}}' "$vault/v1/secret/data/bench/hook"
# A webhook receiver that answers 204 (python's http.server, one thread is plenty here).
cat >"$dir/hook.py" <<'PY'
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(('127.0.0.1', 3220), H).serve_forever()
PY
python3 "$dir/hook.py" & pids+=($!)

field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
# p50 and max of the seconds on standard input, in milliseconds.
stats() { sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms, max %.1f ms (%d runs)", a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'; }

start_server() { # port cache-seconds
  GATEHOUSE_DATABASE_URL="sqlite://$dir/bench-$1.db" LEPTOS_SITE_ADDR=127.0.0.1:$1 \
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=bench@gatehouse.test GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="bench password 1" \
    GATEHOUSE_KEY_VAULT_CACHE_SECONDS=$2 GATEHOUSE_ALLOW_LOOPBACK_TARGETS=true \
    RUST_LOG=warn target/release/gatehouse & pids+=($!)
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && break; sleep 0.2; done
}

prepare() { # base → prints "app-secret connection-id"
  local base=$1 jar="$dir/jar-${1##*:}"
  curl -sf -c "$jar" -o /dev/null -d "email=bench@gatehouse.test&password=bench+password+1&next=" "$base/auth/login"
  curl -sf -b "$jar" -o /dev/null -X POST "$base/rpc/api_enable"
  curl -sf -b "$jar" -o /dev/null -X POST --data-urlencode "form[address]=$vault" \
    -d "form[backend]=open_bao&form[auth]=token&form[credential]=$token" "$base/rpc/key_vault_save"
  local secret id
  secret="$(curl -sf -b "$jar" -X POST -d 'kind=application&role=admin&principal=Bench+service' "$base/rpc/principals_add" | field "['client_secret']")"
  id="$(curl -sf -b "$jar" -X POST -d 'form[name]=bench-hook&form[url]=http%3A%2F%2F127.0.0.1%3A3220%2Fhook&form[use_vault]=true&form[vault_secret]=bench/hook' "$base/rpc/connection_save" | field "['id']")"
  curl -sf -b "$jar" -o /dev/null -X POST -d 'form[name]=stored-hook&form[url]=http%3A%2F%2F127.0.0.1%3A3220%2Fhook&form[secret]=stored-secret' "$base/rpc/connection_save"
  echo "$secret $id"
}

start_server 3212 60
start_server 3213 0
read -r warm_secret hook_id < <(prepare http://127.0.0.1:3212)
read -r cold_secret _ < <(prepare http://127.0.0.1:3213)
jar="$dir/jar-3212"
base=http://127.0.0.1:3212
check_body="form[backend]=open_bao&form[address]=http%3A%2F%2F127.0.0.1%3A3210&form[auth]=token&form[credential]=$token"

# Both must succeed before they are timed: a failing check or Verify is faster and means nothing.
[ "$(curl -sf -b "$jar" -X POST -d "$check_body" "$base/rpc/key_vault_check" | field "['steps'][3]['outcome']")" = pass ] ||
  { echo "the check did not pass" >&2; exit 1; }
[ "$(curl -sf -b "$jar" -X POST -d "id=$hook_id" "$base/rpc/connection_verify" | field "['ok']")" = True ] ||
  { echo "Verify did not pass: is port 3220 free?" >&2; exit 1; }
echo "check (5 steps, POST /rpc/key_vault_check): $(for _ in $(seq "$runs"); do
  curl -sf -b "$jar" -o /dev/null -w '%{time_total}\n' -X POST -d "$check_body" "$base/rpc/key_vault_check"; done | stats)"
echo "verify (vault read + signed webhook POST): $(for _ in $(seq "$runs"); do
  curl -sf -b "$jar" -o /dev/null -w '%{time_total}\n' -X POST -d "id=$hook_id" "$base/rpc/connection_verify"; done | stats)"
fetch() { # base secret name
  for _ in $(seq $((runs * 5))); do
    curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $2" "$1/api/v1/connections/$3/credential"; done | stats
}
echo "credential, Key Vault, warm cache: $(fetch http://127.0.0.1:3212 "$warm_secret" bench-hook)"
echo "credential, Key Vault, cold (cache 0): $(fetch http://127.0.0.1:3213 "$cold_secret" bench-hook)"
echo "credential, stored (sealed) baseline: $(fetch http://127.0.0.1:3212 "$warm_secret" stored-hook)"
