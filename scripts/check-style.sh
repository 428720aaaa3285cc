#!/usr/bin/env bash
# Checks that the C++ sources obey .clang-format, that no line is over 120 characters and no
# function over 100 lines (scripts/check-style.py), and that every include of src/memscope keeps
# to the layers (scripts/check-layers.sh). Usage: scripts/check-style.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 || scripts/apt-install.sh check-style clang-format
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.h' 'apps/*.cpp' 'apps/*.h' 'tests/unit/*.cpp' 'tests/unit/*.h' \
  'fuzz/*.cpp' 'fuzz/*.h')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
fi
clang-format --dry-run --Werror "${files[@]}"
echo "check-style: ${#files[@]} files obey .clang-format"
python3 scripts/check-style.py
scripts/check-layers.sh
