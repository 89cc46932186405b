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
# Test binaries only (cargo's, under target/*/deps), not cargo or the shell.
is_test() {
  case "$(readlink "/proc/$1/exe" 2>/dev/null)" in
    */target/*/deps/*) return 0 ;;
    *) return 1 ;;
  esac
}
if kill -0 "$pid" 2>/dev/null; then
  echo "[bounded] still running after ${limit}s, stopped: $*" >&2
  # The test binaries are frozen first, so that the list below is whole: what they started
  # (the OpenID provider, OpenBao…) is stopped with them rather than living on.
  tests=""
  for p in $(descendants "$pid") "$pid"; do
    if is_test "$p"; then
      kill -STOP "$p" 2>/dev/null || true
      tests="$tests $p"
    fi
  done
  everything="$(descendants "$pid")"
  for test in $tests; do
    if command -v gdb >/dev/null 2>&1; then
      report="$(mktemp --suffix=.stacks)"
      # gdb ends it itself: detaching would let it run (and start more) until the kill below.
      timeout 120 gdb -p "$test" -batch -ex 'thread apply all bt 40' -ex kill >"$report" 2>&1 || true
      # Each thread's innermost frames (what it waits in) and this project's frames (where):
      # the whole report stays in the file.
      echo "[bounded] process $test, every thread's stack in $report; in short:" >&2
      grep -E '^Thread |^#[01] | in (api|app|gatehouse)::|shutdown' "$report" | tail -n 150 >&2 || true
    fi
    # Without gdb, or if it failed: a stopped process takes no signal but this one.
    kill -KILL "$test" 2>/dev/null || true
  done
  kill "$pid" $everything 2>/dev/null || true
fi
wait "$pid"
