#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of Samsa from Debian 12
# packages (docs/development.md). Idempotent: when everything is present it only
# checks, in about a second. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git clang-14 libclang-rt-14-dev clang-format
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libisal-dev nlohmann-json3-dev
  # a gRPC client nobody here wrote, for interoperability tests
  python3 python3-grpcio python3-grpc-tools python3-protobuf curl
  # peers for the comparison benchmarks
  nats-server redis-server libnats-dev libhiredis-dev linux-perf
  # monitoring tests: a real Prometheus and promtool; systemd-analyze for the units
  prometheus systemd
  # the fault suite's clock step (libfaketime under one broker)
  faketime
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are absent or older than a day.
if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]]; then
  "${sudo[@]}" apt-get update -q
fi
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
