#!/usr/bin/env bash
# Runs a test command; when it is still running after LIMIT seconds, it has hung (a pass takes
# a few minutes): prints where every thread of its test processes stands (with gdb, when the
# machine has it), then stops it. A hang then costs LIMIT seconds of CI's 90 minutes rather
# than all of them, and its report says where it was.
#
#   bash scripts/bounded.sh LIMIT command [args...]
set -uo pipefail
limit="$1"
shift
"$@" &
pid=$!
# Polled rather than a sleeping watchdog: nothing is left behind holding the output open.
deadline=$((SECONDS + limit))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 2
done
# The processes under `pid`, at any depth.
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}
if kill -0 "$pid" 2>/dev/null; then
  echo "[bounded] still running after ${limit}s, stopped: $*" >&2
  for test in $(descendants "$pid") "$pid"; do
    # Test binaries only (cargo's, under target/*/deps), not cargo or the shell.
    case "$(readlink "/proc/$test/exe" 2>/dev/null)" in
      */target/*/deps/*) ;;
      *) continue ;;
    esac
    if command -v gdb >/dev/null 2>&1; then
      report="$(mktemp --suffix=.stacks)"
      timeout 120 gdb -p "$test" -batch -ex 'thread apply all bt 40' >"$report" 2>&1 || true
      # Each thread's innermost frames (what it waits in) and this project's frames (where):
      # the whole report stays in the file.
      echo "[bounded] process $test, every thread's stack in $report; in short:" >&2
      grep -E '^Thread |^#[01] | in (api|app|gatehouse)::|shutdown' "$report" | tail -n 150 >&2 || true
    fi
    kill "$test" 2>/dev/null || true
  done
  kill "$pid" 2>/dev/null || true
fi
wait "$pid"
