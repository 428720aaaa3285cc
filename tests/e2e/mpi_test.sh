#!/usr/bin/env bash
# mpirun -np 2 memscope run: the two ranks share the plan's jobs through the run directory and
# give the same scores as one process. Usage: mpi_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Root in containers and CI; more ranks than cores; no cross-memory attach (ptrace is often blocked).
mpi=(mpirun --oversubscribe --mca btl_vader_single_copy_mechanism none)
[[ $(id -u) -eq 0 ]] && mpi+=(--allow-run-as-root)
opts=(--data fashion-mnist --limit 300 --hidden 64,32 --latent 8 --batch-size 32 --iw-samples 8 --progress log
      --threads 1 --folds 4 --repeats 2 --epochs 20 --group-size 1)

"$bin" run "${opts[@]}" --out "$work/single" > "$work/single.out" 2>&1 || fail "single process: $(tail -1 "$work/single.out")"
"${mpi[@]}" -np 2 "$bin" run "${opts[@]}" --out "$work/mpi" > "$work/mpi.out" 2>&1 ||
  fail "mpirun -np 2: $(tail -3 "$work/mpi.out")"
cmp "$work/single/scores.csv" "$work/mpi/scores.csv" || fail "scores of 2 MPI ranks differ from one process"
rank0=$(grep -o '^memscope: [0-9]* jobs trained' "$work/mpi.out" | awk '{print $2}')
rank1=$(grep -o '^memscope: rank 1: [0-9]* jobs trained' "$work/mpi.out" | awk '{print $4}')
[[ -n $rank0 && -n $rank1 && $((rank0 + rank1)) -eq 8 ]] || fail "ranks trained '$rank0' + '$rank1' jobs, expected 8 in all"
grep -q "rank 1/2" "$work/mpi.out" || fail "log lines do not name the rank"
[[ -f "$work/mpi/report.html" ]] || fail "rank 0 wrote no report"
echo "mpi: rank 0 trained $rank0 jobs, rank 1 $rank1; scores equal to one process"

# Default groups (half the plan per rank, stacked): the same scores to float rounding (the stacked
# kernels may round differently for another group shape).
"${mpi[@]}" -np 2 "$bin" run "${opts[@]}" --group-size 0 --out "$work/mpi-groups" > "$work/mpi-groups.out" 2>&1 ||
  fail "mpirun -np 2 with default groups: $(tail -3 "$work/mpi-groups.out")"
python3 - "$work/single/scores.csv" "$work/mpi-groups/scores.csv" << 'PY' || fail "grouped MPI scores differ"
import csv, sys
a, b = ([row for row in csv.DictReader(open(p))] for p in sys.argv[1:])
assert len(a) == len(b) == 300
worst = max(abs(float(x["mem"]) - float(y["mem"])) for x, y in zip(a, b))
assert worst < 1e-2, f"max |mem difference| {worst}"
print(f"mpi: default groups, max |mem difference| vs one process {worst:.2e}")
PY

# A subsets run given more models under MPI: the ranks train only the new block, and the scores equal those of
# one process extending the same run.
sub=("${opts[@]}" --design subsets --epochs 2)
"$bin" run "${sub[@]}" --models 4 --out "$work/sub" > "$work/sub.out" 2>&1 || fail "subsets run: $(tail -1 "$work/sub.out")"
cp -r "$work/sub" "$work/sub-mpi"
"$bin" run "${sub[@]}" --models 6 --out "$work/sub" > "$work/sub6.out" 2>&1 || fail "6 models: $(tail -1 "$work/sub6.out")"
"${mpi[@]}" -np 2 "$bin" run "${sub[@]}" --models 6 --out "$work/sub-mpi" > "$work/sub-mpi.out" 2>&1 ||
  fail "mpirun -np 2 with more models: $(tail -3 "$work/sub-mpi.out")"
grep -q "resume: 4 of 6 jobs already finished" "$work/sub-mpi.out" || fail "MPI ranks did not keep the 4 finished jobs"
cmp "$work/sub/scores.csv" "$work/sub-mpi/scores.csv" || fail "more models under MPI: other scores than one process"
echo "mpi: more models on a subsets run under 2 ranks give the scores of one process"

# A rank that fails ends the whole job with its one-line error, never a hang.
if timeout 120 "${mpi[@]}" -np 2 "$bin" run "${opts[@]}" --folds 0 --out "$work/bad" > "$work/bad.out" 2>&1; then
  fail "a bad option under mpirun exited 0"
fi
grep -q "memscope: error: --folds" "$work/bad.out" || fail "no one-line error under mpirun: $(tail -2 "$work/bad.out")"
echo "mpi: all checks passed"
