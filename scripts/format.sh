#!/usr/bin/env bash
# Formats every C++ source in the tree with the repository's .clang-format.
#   scripts/format.sh           rewrite files in place
#   scripts/format.sh --check   list files that need formatting; exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.h' '*.cc')
((${#files[@]})) || exit 0
if [[ "${1:-}" == "--check" ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "$f"
      bad=1
    fi
  done
  exit $bad
fi
clang-format -i "${files[@]}"
