#!/usr/bin/env bash
# The principals list and the Users tab's server render at 1,000,000 principals (PRINCIPALS=n for
# another size), on SQLite and then on PostgreSQL (a throwaway cluster, scripts/postgres.sh).
# Targets (one search engine, both databases): each list query p50 ≤ 10 ms, p99 ≤ 30 ms.
# BENCH_ONLY=sqlite or BENCH_ONLY=postgres runs one database; BENCH_CASES=text the cases whose
# label holds `text`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
only="${BENCH_ONLY:-}"
# Its own target directory, like bench-api.sh: cargo-leptos's release build stays untouched.
bench() { CARGO_TARGET_DIR=target/bench cargo bench -q -p gatehouse --bench principals; }
if [ "$only" != postgres ]; then
  echo "== SQLite"
  bench
fi
if [ "$only" != sqlite ]; then
  echo "== PostgreSQL"
  cluster="$(mktemp -d)"
  trap 'bash scripts/postgres.sh stop "$cluster"' EXIT
  url="$(bash scripts/postgres.sh start "$cluster")"
  psql -q "$url" -c "CREATE DATABASE bench"
  BENCH_DATABASE_URL="${url%/postgres}/bench" BENCH_MASTER_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" bench
fi
