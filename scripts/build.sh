#!/usr/bin/env bash
# The release build: server plus size-optimised WASM (wasm-opt from end2end/node_modules),
# split into a chunk per lazy route (--split) and written beside brotli-11 and gzip copies
# that the server sends as they are (--precompress).
#
# The front end and the server build side by side: the front end's long single-threaded steps
# (LTO, wasm-bindgen, wasm-opt, brotli) leave a core free that the server's compilation uses.
# They share nothing but the hash file, which the server reads at run time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
flags=(--release --split --precompress)
cargo leptos build "${flags[@]}" --frontend-only &
front=$!
server_ok=true
cargo leptos build "${flags[@]}" --server-only || server_ok=false
front_ok=true
wait "$front" || front_ok=false
$front_ok || { echo "[build] the front end failed to build" >&2; exit 1; }
$server_ok || { echo "[build] the server failed to build" >&2; exit 1; }
