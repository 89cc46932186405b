#!/usr/bin/env bash
# The release build: server plus size-optimised WASM (wasm-opt from end2end/node_modules).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release
