#!/usr/bin/env bash
# The principals list and the Users tab's server render at 1,000,000 principals (PRINCIPALS=n for another size).
# Targets (Users at scale): each list query p50 ≤ 5 ms, p99 ≤ 20 ms; the tab's render p50 ≤ 30 ms.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Its own target directory, like bench-api.sh: cargo-leptos's release build stays untouched.
CARGO_TARGET_DIR=target/bench cargo bench -p gatehouse --bench principals
