#!/usr/bin/env bash
# Builds Debian's own Abseil — the installed version, from its source
# package — with ThreadSanitizer, as shared libraries with Debian's sonames,
# into PREFIX, and prints PREFIX. The TSan build links against them and
# finds them first at run time (RPATH), so absl::Mutex, absl::CondVar
# and absl::Notification, in our code and inside gRPC, carry the
# happens-before edges TSan needs; with Debian's uninstrumented libraries
# every lock looks like no lock (docs/development.md).
#
#   scripts/absl-tsan.sh [PREFIX]
#
# PREFIX defaults to ~/.cache/samsa/absl-tsan-VERSION (XDG_CACHE_HOME
# respected), shared by every checkout; nothing is done when it is already
# built. Needs root (or sudo) the first time, to add Debian's source lists
# to apt. Takes about 7 minutes on 2 cores (6.5 measured, 2026-12-04).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(dpkg-query -W -f='${Version}' libabsl-dev)
prefix=$(realpath -m "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/samsa/absl-tsan-$version}")
if [[ -f "$prefix/VERSION" && "$(cat "$prefix/VERSION")" == "$version" ]]; then
  echo "$prefix"
  exit 0
fi

sudo=()
((EUID == 0)) || sudo=(sudo)
work=$(mktemp -d "${TMPDIR:-/tmp}/absl-tsan.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get source -qq "abseil=$version" >/dev/null 2>&1; then
  # apt-get source needs deb-src entries; Debian 12 images ship only deb.
  "${sudo[@]}" tee /etc/apt/sources.list.d/samsa-debian-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  "${sudo[@]}" apt-get update -qq
  apt-get source -qq "abseil=$version" >/dev/null 2>&1 || {
    echo "absl-tsan: cannot fetch the source of abseil $version (apt-get source)" >&2
    exit 1
  }
fi
src=$(find . -maxdepth 1 -type d -name 'abseil-*' | head -1)

# Debian's flags (debian/rules): C++17, shared libraries; its patches (the
# inline namespace, sonames) are applied by apt-get source.
echo "absl-tsan: building Abseil $version with ThreadSanitizer into $prefix" >&2
cmake -S "$src" -B build -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_FLAGS=-fsanitize=thread \
  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build build -j "${JOBS:-2}" >&2
rm -rf "$prefix"
cmake --install build >/dev/null
echo "$version" >"$prefix/VERSION"
echo "$prefix"
