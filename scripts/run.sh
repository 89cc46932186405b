#!/usr/bin/env bash
# Installs what is missing, builds the release app and runs it on ./gatehouse.db.
# The first start creates an administrator: set GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and
# GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD, or read the generated password in the log.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh run
bash scripts/build.sh
echo "[run] built in ${SECONDS}s; Gatehouse on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}/ (Ctrl-C stops it)" >&2
exec target/release/gatehouse "$@"
