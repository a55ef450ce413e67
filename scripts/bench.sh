#!/usr/bin/env bash
# Builds and runs the benchmark programs with the commands recorded in
# docs/benchmarks.md. Run on an otherwise idle machine; files go under
# $SAMSA_TEST_DIR (default $TMPDIR, then /tmp) and are removed.
#   scripts/bench.sh [common|storage|raft|controller|broker|client ...]   default: all six
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh >/dev/null
targets=("$@")
((${#targets[@]})) || targets=(common storage raft controller broker client)
for t in "${targets[@]}"; do
  case "$t" in
    common) build/bin/samsa-bench-common ;;
    storage) build/bin/samsa-bench-storage --benchmark_report_aggregates_only=true ;;
    raft) build/bin/samsa-bench-raft ;;
    controller) build/bin/samsa-bench-controller ;;
    broker) build/bin/samsa-bench-broker ;;
    client) build/bin/samsa-bench-client ;;
    *) echo "unknown benchmark '$t' (common, storage, raft, controller, broker, client)" >&2; exit 2 ;;
  esac
done
