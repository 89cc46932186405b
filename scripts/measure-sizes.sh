#!/usr/bin/env bash
# Prints the download size of the release bundle (WASM, JS, CSS), raw and brotli-compressed at
# quality 11, the way a server with precompressed assets would send them.
# Run scripts/build.sh first (or pass --build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ "${1:-}" = "--build" ] && bash scripts/build.sh
pkg=target/site/pkg
command -v brotli >/dev/null || { echo "brotli is missing: apt-get install brotli" >&2; exit 1; }
printf '%-16s %12s %12s %12s\n' file raw gzip-9 brotli-11
for f in "$pkg"/gatehouse.wasm "$pkg"/gatehouse.js "$pkg"/gatehouse.css; do
  [ -f "$f" ] || { echo "$f is missing: build first" >&2; exit 1; }
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  printf '%-16s %12s %12s %12s\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
