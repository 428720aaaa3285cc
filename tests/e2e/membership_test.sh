#!/usr/bin/env bash
# End-to-end check of membership inference: a tiny random-subsets run (balanced: every example in exactly
# round(M f) models), its membership tests and report section, a resume that trains nothing and
# gives identical files, more models on the finished run training only the new block, two shards that
# give the same scores as one process, and `score --bank` on the run's own logp.npy and mask.npy giving
# the same results and a report (and on a planted bank with images, the most exposed as images).
# Usage: membership_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
tiny=(--data fashion-mnist --limit 200 --hidden 32 --latent 4 --batch-size 32 --epochs 2 --iw-samples 4
      --threads 1 --group-size 1 --progress none --design subsets --models 6 --subset-fraction 0.5)

"$bin" run "${tiny[@]}" --out "$work/a" > "$work/a.out" 2> "$work/a.err" || fail "subsets run: $(tail -n 1 "$work/a.err")"
grep -q "6 jobs trained, 0 resumed" "$work/a.out" || fail "expected 6 jobs: $(head -n 1 "$work/a.out")"
awk -F, 'NR == 1 { if ($11 != "mia_risk") exit 1; next }
         { if ($7 != 3 || $8 != 3) exit 2; if ($11 !~ /^[0-9.e+-]+$/ || $11 < 0 || $11 > 1) exit 3; n++ }
         END { if (n != 200) exit 4 }' "$work/a/scores.csv" || fail "scores.csv of the subsets run: code $?"
for attack in baseline lira-online lira-offline rmia-online rmia-offline; do
  grep -q "\"$attack\"" "$work/a/membership.json" || fail "membership.json lacks $attack"
  grep -q "^  $attack " "$work/a.out" || fail "run output lacks the $attack line"
done
grep -q '"design": "subsets"' "$work/a/config.json" || fail "config.json lacks the design"
grep -q 'id="membership"' "$work/a/report.html" || fail "report lacks the membership section"
grep -q '"spearman_risk_mem"' "$work/a/summary.json" || fail "summary.json lacks the membership figures"

# Resume: nothing trained, identical scores and membership results.
cp "$work/a/scores.csv" "$work/a/membership.json" "$work/"
"$bin" run "${tiny[@]}" --out "$work/a" > "$work/a2.out" 2>&1 || fail "resume failed"
grep -q "0 jobs trained, 6 resumed" "$work/a2.out" || fail "resume trained again: $(head -n 1 "$work/a2.out")"
cmp -s "$work/scores.csv" "$work/a/scores.csv" || fail "resume changed scores.csv"
cmp -s "$work/membership.json" "$work/a/membership.json" || fail "resume changed membership.json"

# More models on the finished run: a new block of 2 models (every example in 1 of them) trains; the 6
# finished jobs are kept untouched (same keys, same results) and the scores are rewritten over 8 models.
cp -r "$work/a" "$work/a8"
"$bin" run "${tiny[@]}" --models 8 --out "$work/a8" > "$work/a8.out" 2>&1 || fail "--models 8: $(tail -n 1 "$work/a8.out")"
grep -q "2 jobs trained, 6 resumed" "$work/a8.out" || fail "--models 8 trained other jobs: $(grep trained "$work/a8.out")"
for j in 0 1 2 3 4 5; do
  cmp -s "$work/a/jobs/job-0000$j/result.json" "$work/a8/jobs/job-0000$j/result.json" || fail "job $j was touched"
done
keys() { grep -o '"key": "[0-9a-f]*"' "$1" | head -n 6; }
cmp -s <(keys "$work/a/manifest.json") <(keys "$work/a8/manifest.json") || fail "the first 6 job keys changed"
awk -F, 'NR > 1 { if ($7 != 4 || $8 != 4) exit 1 }' "$work/a8/scores.csv" || fail "8 models: not 4 in and 4 out"
grep -q '"subset_blocks": \[' "$work/a8/config.json" || fail "config.json lacks the blocks"
# Another subset fraction is another design: refused, naming the option.
rc=0
"$bin" run "${tiny[@]}" --subset-fraction 0.25 --out "$work/a" > /dev/null 2> "$work/m.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "plan/subset_fraction" "$work/m.err" || fail "--subset-fraction 0.25: $(cat "$work/m.err")"
# Fewer models must end at a block's end.
rc=0
"$bin" run "${tiny[@]}" --models 7 --out "$work/a8" > /dev/null 2> "$work/m.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q -- "--models" "$work/m.err" || fail "--models 7 on blocks 6, 2: $(cat "$work/m.err")"

# Two shards, then score: the same scores as one process.
"$bin" train "${tiny[@]}" --out "$work/s" --shard 0/2 > /dev/null 2>&1 || fail "shard 0/2"
"$bin" train "${tiny[@]}" --out "$work/s" --shard 1/2 > /dev/null 2>&1 || fail "shard 1/2"
"$bin" score --run "$work/s" > /dev/null 2>&1 || fail "score of the shards"
cmp -s "$work/a/scores.csv" "$work/s/scores.csv" || fail "shards gave other scores than one process"
cmp -s "$work/a/manifest.json" "$work/s/manifest.json" || fail "shards gave another manifest"

# score --bank on the run's own files: the same scores and membership results.
mkdir -p "$work/bank"
cp "$work/a/logp.npy" "$work/a/mask.npy" "$work/a/labels.npy" "$work/bank/"
"$bin" score --bank "$work/bank" --out "$work/bank-out" > "$work/bank.out" 2>&1 || fail "score --bank: $(tail -n 1 "$work/bank.out")"
cmp -s "$work/a/membership.json" "$work/bank-out/membership.json" || fail "bank membership.json differs from the run's"
# A bank has no examples to measure distances on: its scores.csv stops before the run's diagnostic columns.
cmp -s <(cut -d, -f1-14 "$work/a/scores.csv") "$work/bank-out/scores.csv" || fail "bank scores.csv differs from the run's"
[[ ! -e $work/bank/scores.csv ]] || fail "--out given, yet the bank directory was written"
grep -q 'id="membership"' "$work/bank-out/report.html" || fail "bank report lacks the membership section"
grep -q 'no images.npy' "$work/bank-out/report.html" || fail "bank report without images does not say so"
grep -q '"bank": true' "$work/bank-out/summary.json" || fail "bank summary.json does not say it is a bank"
grep -q '^report: .*bank-out/report.html' "$work/bank.out" || fail "score --bank did not print the report"

# A planted bank with images and labels: the report shows the most exposed examples as images.
python3 "$(dirname "$0")/../../scripts/planted-bank.py" --images "$work/planted" 120 8 2 1 2 3
"$bin" score --bank "$work/planted" > "$work/planted.out" 2>&1 || fail "planted bank: $(tail -n 1 "$work/planted.out")"
grep -q 'id="grid-exposed"' "$work/planted/report.html" || fail "planted bank report lacks the exposed grid"
python3 - "$work/planted/report.html" << 'EOF' || fail "planted bank report: page data"
import json, re, sys
page = open(sys.argv[1]).read()
data = json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page, re.S).group(1))
exposed = data["grids"]["exposed"]
assert len(exposed) == 16 and all(e["image"].startswith("data:image/png;base64,") for e in exposed), "exposed images"
assert "chart-roc" in data["specs"] and "chart-risk" in data["specs"] and "chart-loss" not in data["specs"], "specs"
assert len(data["neighbours"]) == 16, "neighbours of the top examples"
EOF

# No signal in, no finding out: a null bank of the main job's design (5 folds x 2 repeats) scores no
# memorized example and no attack above what noise gives; a planted one finds its planted examples.
"$bin" null-bank --out "$work/null" --n 1500 --folds 5 --repeats 2 --seed 3 > /dev/null || fail "null-bank"
"$bin" score --bank "$work/null" > "$work/null.out" 2>&1 || fail "score of the null bank: $(tail -n 1 "$work/null.out")"
grep -q "^memorized (M > 0 at FDR 0.05): 0 of 1500 examples" "$work/null.out" || fail "null bank: $(grep memorized "$work/null.out")"
[[ $(grep -c "not above noise" "$work/null.out") -ge 4 ]] || fail "null bank: attacks above noise: $(cat "$work/null.out")"
grep -q '"null": {' "$work/null/summary.json" || fail "summary.json of the null bank lacks the null"
"$bin" null-bank --out "$work/plant" --n 500 --folds 5 --repeats 2 --effect 12 --planted 20 --scale-hi 2 > /dev/null
"$bin" score --bank "$work/plant" > "$work/plant.out" 2>&1 || fail "score of the planted bank"
awk -F, 'NR > 1 && NR <= 21 && $16 > 0.05 { exit 1 }' "$work/plant/scores.csv" || fail "a planted example was not found"
# Bad input: one line naming the flag, nothing written.
for bad in "--fdr 1.5" "--fdr 0" "--null-draws -1"; do
  rc=0
  "$bin" score --bank "$work/plant" --out "$work/bad-out" $bad > /dev/null 2> "$work/bad.err" || rc=$?
  [[ $rc -ne 0 && $(wc -l < "$work/bad.err") -eq 1 ]] && grep -q -- "${bad%% *}" "$work/bad.err" || fail "$bad: $(cat "$work/bad.err")"
  [[ ! -e $work/bad-out ]] || fail "$bad wrote $work/bad-out"
done

# score --run with another LiRA variance rewrites membership.json with it.
"$bin" score --run "$work/a" --lira-variance global > /dev/null 2>&1 || fail "score --lira-variance global"
grep -q '"lira_variance": "global"' "$work/a/membership.json" || fail "score --lira-variance was not applied"
echo "membership: all checks passed"
