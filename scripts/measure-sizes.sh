#!/usr/bin/env bash
# Sizes of the release bundle, two ways:
#  1. every file in target/site/pkg (the main WASM module, one chunk per lazy route, shared
#     chunks, JS, CSS): raw, and the gzip and brotli (quality 11) copies the build wrote beside
#     it, which are what the server sends;
#  2. bytes on the wire as Chromium receives them from the release server: a first visit of each
#     tab (signed in, cold cache), switching to each other tab, a second visit, the sign-in page,
#     and the Users tab's time to interactive on "Fast 3G" (end2end/measure/bundle.spec.ts).
# Usage: bash scripts/measure-sizes.sh [--build] [--files-only]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build=false files_only=false
for arg in "$@"; do
  case "$arg" in
    --build) build=true ;;
    --files-only) files_only=true ;;
    *) echo "usage: measure-sizes.sh [--build] [--files-only]" >&2; exit 2 ;;
  esac
done
$build && bash scripts/build.sh
pkg=target/site/pkg
[ -d "$pkg" ] || { echo "$pkg is missing: run scripts/build.sh first (or pass --build)" >&2; exit 1; }
[ -n "$(find "$pkg" -name '*.br' -print -quit)" ] ||
  { echo "$pkg has no precompressed copies: build with scripts/build.sh" >&2; exit 1; }

printf '%-52s %10s %10s %10s\n' file raw gzip brotli-11
total_raw=0 total_br=0
while IFS= read -r f; do
  raw=$(stat -c %s "$f")
  gz=$(stat -c %s "$f.gz" 2>/dev/null || echo -)
  br=$(stat -c %s "$f.br" 2>/dev/null || echo "$raw")
  total_raw=$((total_raw + raw)) total_br=$((total_br + br))
  printf '%-52s %10s %10s %10s\n' "${f#"$pkg"/}" "$raw" "$gz" "$br"
done < <(find "$pkg" -type f ! -name '*.br' ! -name '*.gz' | sort)
printf '%-52s %10s %10s %10s\n' "all files" "$total_raw" "" "$total_br"

$files_only && exit 0
echo
echo "bytes on the wire (Chromium, release server):"
export PATH="$root/end2end/node_modules/.bin:$PATH"
(cd end2end && npx --no-install playwright test -c measure.config.ts --reporter=line)
