#!/usr/bin/env bash
# Starts the release server for Playwright on a fresh database, with a known admin and a Viewer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
export GATEHOUSE_DATABASE_URL="sqlite://$dir/e2e.db"
export GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL="admin@e2e.test"
export GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD="e2e admin password"
# The suite signs in many times from one address; the limit itself has its own Rust test.
export GATEHOUSE_LOGIN_ATTEMPTS_PER_MINUTE=10000
# The OpenBao server, webhook and mail receivers of the suite listen on this machine.
export GATEHOUSE_ALLOW_LOOPBACK_TARGETS=true
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3107}"
export LEPTOS_SITE_ROOT="$root/target/site"
export RUST_LOG="${RUST_LOG:-warn}"
printf '%s' "e2e viewer password" |
  target/release/gatehouse add-user --email viewer@e2e.test --name "Vera Viewer" --role viewer
exec target/release/gatehouse
