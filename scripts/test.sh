#!/usr/bin/env bash
# The one command that takes a fresh clone to passing tests:
# installs dependencies, checks every C++ file is clang-formatted, builds,
# checks the lock annotations with clang, runs every ctest label except `long`.
#
#   scripts/test.sh [--asan|--tsan|--debug] [ctest args...]
#
# e.g. scripts/test.sh -L unit, or scripts/test.sh -R Crc32c.
set -euo pipefail
cd "$(dirname "$0")/.."

variant=()
dir=build
case "${1:-}" in
  --asan) variant=(--asan); dir=build-asan; shift ;;
  --tsan) variant=(--tsan); dir=build-tsan; shift ;;
  --debug) variant=(--debug); dir=build-debug; shift ;;
esac

./scripts/setup.sh
if ! unformatted=$(./scripts/format.sh --check); then
  echo "not formatted with .clang-format (run scripts/format.sh):" >&2
  echo "$unformatted" >&2
  exit 1
fi
./scripts/build.sh "${variant[@]}"
# The clang variants check the lock annotations as they build; the g++ one
# gets a clang syntax-only pass for them.
if ((${#variant[@]} == 0)) || [[ "${variant[0]}" == --debug ]]; then
  python3 scripts/check_thread_safety.py "$dir"
fi

cd "$dir"
ctest --output-on-failure -LE long -j "${JOBS:-2}" --timeout 600 "$@"
