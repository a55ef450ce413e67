#!/usr/bin/env bash
# Runs the test suite N times and lists every test that failed at least
# once, with how often: a test that fails now and then is a bug report
# (docs/development.md), and one run cannot show it.
#
#   scripts/flake-hunt.sh N [ctest args...]
#
# e.g. scripts/flake-hunt.sh 10, or scripts/flake-hunt.sh 20 -L fault.
# Without ctest args it runs what scripts/test.sh runs (every label but
# `long`). Each run's ctest output is kept in a directory it names; exits 1
# if any test failed in any run.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 N [ctest args...]" >&2; exit 2; }
shift
(($#)) || set -- -LE long

./scripts/build.sh >/dev/null
logs=$(mktemp -d "${TMPDIR:-/tmp}/samsa-flake-hunt.XXXXXX")
declare -A failures=()
for ((i = 1; i <= runs; i++)); do
  started=$SECONDS
  (cd build && ctest --output-on-failure -j "${JOBS:-2}" --timeout 600 "$@") \
    >"$logs/run-$i.log" 2>&1 || true
  failed=()
  # After "The following tests FAILED:", ctest lists "NNN - Name (Failed)"
  # (or Timeout, Exception...); skipped tests are listed under another head.
  while IFS= read -r name; do
    failed+=("$name")
    failures[$name]=$((${failures[$name]:-0} + 1))
  done < <(awk '/^The following tests FAILED:/ { on = 1; next }
                on && /^[[:space:]]+[0-9]+ - / { print $3; next }
                { on = 0 }' "$logs/run-$i.log")
  summary=$(grep -E '^[0-9]+% tests passed' "$logs/run-$i.log" || echo "ctest did not finish")
  echo "run $i/$runs ($((SECONDS - started)) s): $summary${failed:+: ${failed[*]}}"
done

echo "logs: $logs"
if ((${#failures[@]} == 0)); then
  echo "flake-hunt: no test failed in $runs runs"
  exit 0
fi
echo "flake-hunt: tests that failed (runs failed of $runs):"
for name in "${!failures[@]}"; do echo "  ${failures[$name]}  $name"; done | sort -k2
exit 1
