#!/usr/bin/env bash
# Random fault mixes for longer than CI's scenarios (tests/chaos/): leader
# kills, leaders paused past their session, every broker killed at once and
# the active controller killed, at random moments under the chaos workload,
# for N minutes; then the same checks and report line as the scenarios.
#
#   scripts/chaos.sh [--minutes N] [--seed S]
#
# A failed run prints its seed (rerun with --seed S for the same fault
# schedule) and where its history was saved.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=5
seed=$(date +%s)
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --seed) seed=$2; shift ;;
    *) echo "usage: $0 [--minutes N] [--seed S]" >&2; exit 2 ;;
  esac
  shift
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "chaos: --minutes takes a number" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "chaos: --seed takes a non-negative integer" >&2; exit 2; }

./scripts/build.sh -- chaos_test samsa-controller samsa-broker >/dev/null
SAMSA_CHAOS_MINUTES=$minutes SAMSA_CHAOS_SEED=$seed \
  build/bin/chaos_test --gtest_filter=ChaosTest.RandomFaults
