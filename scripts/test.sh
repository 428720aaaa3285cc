#!/usr/bin/env bash
# Checks the style, sets up (installs and builds the program), builds and runs the whole test
# suite, then fuzzes every file reader for MEMSCOPE_FUZZ_SECONDS (default 20)
# seconds each (scripts/fuzz.sh; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-style.sh  # .clang-format, lines <= 120 characters, functions <= 100 lines
scripts/setup.sh
cmake --build build -j"$(nproc)"  # the test suite (setup.sh builds the program only)
ctest --test-dir build --output-on-failure -j2 --timeout 600
seconds=${MEMSCOPE_FUZZ_SECONDS:-20}
if ((seconds > 0)); then scripts/fuzz.sh "$seconds"; fi
