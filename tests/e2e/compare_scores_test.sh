#!/usr/bin/env bash
# scripts/compare-scores.py on planted score files: a file against itself (KS 0, Spearman 1, full
# overlap), against the same scores shifted by 3 nats (a KS distance far over the critical value),
# and against scores of other examples (an error). Usage: compare_scores_test.sh WORKDIR
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
compare="$(dirname "$0")/../../scripts/compare-scores.py"
python3 - "$work" <<'PY'
import random, sys
random.seed(1)
rows = [(i, random.gauss(4, 5)) for i in range(1000)]
for name, shift, first in (("a", 0, 0), ("shifted", 3, 0), ("other", 0, 1)):
    with open(f"{sys.argv[1]}/{name}.csv", "w") as f:
        f.write("index,label,logp_in,logp_out,mem,mem_se,n_in,n_out,mem_q\n")
        for i, m in rows:
            f.write(f"{i + first},0,-100,-104,{m + shift},1.5,4,1,{0.01 if i < 100 else 1}\n")
PY
same=$("$compare" "$work/a.csv" "$work/a.csv")
grep -q "KS distance 0.0000" <<< "$same" || fail "same file: $same"
grep -q "Spearman per example 1.000" <<< "$same" || fail "same file: $same"
grep -q "top-5% overlap 1.000" <<< "$same" || fail "same file: $same"
grep -q "discoveries (mem_q <= 0.05): A 100, B 100, both 100; overlap (both / either) 1.000" <<< "$same" ||
  fail "same file: $same"
shifted=$("$compare" "$work/a.csv" "$work/shifted.csv")
ks=$(sed -n 's/^KS distance \([0-9.]*\) (5% critical value \([0-9.]*\))/\1 \2/p' <<< "$shifted")
awk -v ks="${ks% *}" -v crit="${ks#* }" 'BEGIN { exit !(ks > 3 * crit) }' || fail "shifted: $shifted"
grep -q "Spearman per example 1.000" <<< "$shifted" || fail "shifted ranks: $shifted"
if "$compare" "$work/a.csv" "$work/other.csv" 2> "$work/other.err"; then fail "other examples: no error"; fi
grep -q "score different examples" "$work/other.err" || fail "other examples: $(cat "$work/other.err")"
echo "compare-scores: ok"
