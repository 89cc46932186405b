#!/usr/bin/env bash
# The audit chain's cost on the write path (admin changes per second with and without it, same
# run) and the streaming's delivery lag (p50/p99 of a burst of 1,000 changes to a syslog receiver).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Its own target directory, like the other benches: cargo-leptos's release build stays untouched.
CARGO_TARGET_DIR=target/bench cargo bench -p gatehouse --bench audit
