#!/usr/bin/env bash
# Builds the libFuzzer targets of memscope's file readers with clang (ASan + UBSan, build-fuzz/)
# and runs each for SECONDS (default 60). Prints per target the executions and executions per
# second; fails on any crash, leak, sanitizer report, timeout or out-of-memory.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#        (targets: idx npy csv run_json toml extraction_json validation_json)
# Needs memscope's build dependencies (scripts/setup.sh installs them; scripts/test.sh runs both).
# The corpus grows in build-fuzz/corpus/TARGET (seeds: fuzz/corpus/TARGET), so later runs start
# where earlier ones stopped.
# Findings are saved as build-fuzz/artifacts/TARGET-crash-... ; replay one with
#   build-fuzz/fuzz/fuzz_TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(idx npy csv run_json toml extraction_json validation_json)

# clang and its sanitizer/libFuzzer runtimes (Debian 12: clang 14). The other build dependencies
# come from scripts/setup.sh.
packages=(clang libclang-rt-14-dev)
scripts/apt-install.sh fuzz "${packages[@]}"

jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMEMSCOPE_FUZZ=ON -DMEMSCOPE_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target "${targets[@]/#/fuzz_}"

# Leak checking stays on: LibTorch's one-time static allocations are reachable from globals, so
# LeakSanitizer does not report them (fuzz/lsan.supp exists for anything that would).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp   # the targets' input files
mkdir -p build-fuzz/artifacts
failed=()
printf '%-16s %10s %10s %8s\n' target runs exec/s seconds
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  log=build-fuzz/fuzz-$t.log
  rc=0
  # -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb/-malloc_limit_mb: a
  # reader must not allocate gigabytes for a small file.
  build-fuzz/fuzz/fuzz_"$t" "$corpus" fuzz/corpus/"$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/"$t"- > "$log" 2>&1 || rc=$?
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
  if [[ $rc -ne 0 || -z $done_line ]] ||
     grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
    failed+=("$t")
    printf '%-16s FAILED (exit %d); see %s:\n' "$t" "$rc" "$log"
    grep -E 'ERROR|runtime error|SUMMARY|terminate|what\(\)|Test unit written' "$log" | head -n 8 | sed 's/^/  /'
    continue
  fi
  runs=$(awk '{print $2}' <<< "$done_line")
  secs=$(awk '{print $5}' <<< "$done_line")
  printf '%-16s %10d %10d %8d\n' "$t" "$runs" $((runs / (secs > 0 ? secs : 1))) "$secs"
done
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash, leak, sanitizer report or timeout in ${seconds} s each"
