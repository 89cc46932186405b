#!/usr/bin/env bash
# The principals list and the Users tab's server render at 100,000 principals.
# Target (Users issue): p50 ≤ 5 ms for each list query. Usage: bash scripts/bench-principals.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Its own target directory, like bench-api.sh: cargo-leptos's release build stays untouched.
CARGO_TARGET_DIR=target/bench cargo bench -p gatehouse --bench principals
