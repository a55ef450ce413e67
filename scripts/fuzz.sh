#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang-14, ASan + UBSan).
#   scripts/fuzz.sh [TARGET] [SECONDS]     default: record_batch_fuzz, 60 s
# TARGET: record_batch_fuzz, metadata_fuzz, config_fuzz or request_fuzz.
# Crashes are written to build-fuzz/artifacts/; re-run one with
#   build-fuzz/bin/TARGET build-fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-record_batch_fuzz}
seconds=${2:-60}

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAMSA_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 -DSAMSA_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "${JOBS:-2}" --target "$target" fuzz_seeds
mkdir -p build-fuzz/artifacts build-fuzz/corpus/"$target"
case "$target" in
  record_batch_fuzz) seeds=(build-fuzz/tests/fuzz/corpus/record_batch) ;;
  metadata_fuzz) seeds=(build-fuzz/tests/fuzz/corpus/metadata) ;;
  request_fuzz) seeds=(build-fuzz/tests/fuzz/corpus/request) ;;
  config_fuzz)
    seeds=(build-fuzz/corpus/config_seeds)
    mkdir -p "${seeds[0]}"
    for f in deploy/config/*.properties deploy/three-hosts/*.properties; do
      cp "$f" "${seeds[0]}/$(basename "$(dirname "$f")")-$(basename "$f")"
    done ;;
  *) echo "fuzz: unknown target $target" >&2; exit 2 ;;
esac
exec build-fuzz/bin/"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
  -artifact_prefix=build-fuzz/artifacts/ build-fuzz/corpus/"$target" "${seeds[@]}"
