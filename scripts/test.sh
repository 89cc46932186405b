#!/usr/bin/env bash
# Installs what is missing, then runs every test: Rust unit and integration tests (each starts
# the real server on port 0 with a fresh database), the integration tests again on PostgreSQL
# (a throwaway cluster, a database per test), then Playwright in Debian's Chromium against the
# release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# A cold run takes up to 10.5 GB of disk (measured: the debug and release builds, the
# PostgreSQL cluster). On a full disk PostgreSQL stops mid-test and the tests fail, or wait,
# without saying why: say it first. Old builds are what usually fill it (`cargo clean`).
free_gb="$(df -Pk "$root" | awk 'NR == 2 { print int($4 / 1048576) }')"
if [ "$free_gb" -lt 12 ]; then
  echo "[test] warning: only ${free_gb} GB free on this disk; a cold run needs up to 10.5 and some room" >&2
fi
# While setup builds missing tools (long stretches on one core), the Rust tests compile beside
# it; the run below reports any error. On a warm machine this finishes at once.
cargo test --locked -p app -p gatehouse --no-run >/dev/null 2>&1 &
prebuild=$!
cluster="$(mktemp -d)"
trap 'kill "$prebuild" 2>/dev/null || true; bash scripts/postgres.sh stop "$cluster"' EXIT
bash scripts/setup.sh test
wait "$prebuild" || true
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The Key Vault tests start OpenBao; pip may have put `bao` where PATH does not look yet.
if [ -z "${BAO_BIN:-}" ] && ! command -v bao >/dev/null 2>&1; then
  BAO_BIN="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/bao"
  export BAO_BIN
fi

step() { echo "[test] $1 (at ${SECONDS}s)" >&2; }
# One throwaway PostgreSQL cluster for both passes: the tests of several servers use it in the
# first, and every test in the second.
GATEHOUSE_TEST_CLUSTER="$(bash scripts/postgres.sh start "$cluster")"
export GATEHOUSE_TEST_CLUSTER

# A pass takes a few minutes; one still running after 20 has hung, and scripts/bounded.sh
# stops it with a report of where it waits.
limit=1200
step "cargo test"
# frontend stays out: unifying its hydrate feature with ssr would not build.
bash scripts/bounded.sh "$limit" cargo test --locked -p app -p gatehouse

step "integration tests on PostgreSQL"
GATEHOUSE_TEST_POSTGRES="$GATEHOUSE_TEST_CLUSTER" \
  bash scripts/bounded.sh "$limit" cargo test --locked -p gatehouse --test api
bash scripts/postgres.sh stop "$cluster"

step "release build"
bash scripts/build.sh

step "playwright"
(cd end2end && npx --no-install playwright test)
step "done"
