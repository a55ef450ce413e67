#!/usr/bin/env bash
# Configures and builds Samsa with Ninja (and ccache when present).
#
#   scripts/build.sh            RelWithDebInfo into build/
#   scripts/build.sh --debug    Debug into build-debug/
#   scripts/build.sh --asan     clang-14, AddressSanitizer + UBSan, into build-asan/
#   scripts/build.sh --tsan     clang-14, ThreadSanitizer, into build-tsan/ (with
#                               an instrumented Abseil: scripts/absl-tsan.sh)
#
# Extra arguments after `--` go to the build tool (e.g. -- common_test).
# JOBS overrides the parallelism (default: 2, this project's machine size).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
while (($#)); do
  case "$1" in
    --debug) dir=build-debug; cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Debug) ;;
    --asan)
      dir=build-asan
      cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAMSA_ASAN=ON
                  -DCMAKE_CXX_COMPILER=clang++-14 -DSAMSA_BUILD_BENCH=OFF) ;;
    --tsan)
      dir=build-tsan
      cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAMSA_TSAN=ON
                  -DCMAKE_CXX_COMPILER=clang++-14 -DSAMSA_BUILD_BENCH=OFF) ;;
    --) shift; break ;;
    *) echo "usage: $0 [--debug|--asan|--tsan] [-- ninja-args...]" >&2; exit 2 ;;
  esac
  shift
done

if [[ "$dir" == build-tsan ]]; then
  cmake_args+=(-DCMAKE_PREFIX_PATH="$(./scripts/absl-tsan.sh)")
fi
cmake -S . -B "$dir" "${cmake_args[@]}" >/dev/null
cmake --build "$dir" -j "${JOBS:-2}" -- "$@"
echo "build: $dir/bin"
