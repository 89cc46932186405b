#!/usr/bin/env bash
# The release build: server plus size-optimised WASM (wasm-opt from end2end/node_modules),
# split into a chunk per lazy route (--split) and written beside brotli-11 and gzip copies
# that the server sends as they are (--precompress).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --split --precompress
