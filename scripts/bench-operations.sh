#!/usr/bin/env bash
# The operator's commands at size: `backup` and `rotate-master-key` on 1,000,000 principals and
# 10,000 audit entries (PRINCIPALS=n and AUDIT=n for other sizes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Its own target directory, like the other benches: cargo-leptos's release build stays untouched.
CARGO_TARGET_DIR=target/bench cargo bench -p gatehouse --bench operations
