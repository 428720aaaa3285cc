#!/usr/bin/env bash
# End-to-end audit of models trained elsewhere: `memscope plan` gives the masks `run` trains with; the PyTorch
# example trains the plan's models and writes a bank (log-likelihood and loss forms) that `score --bank` and the
# Python module score alike; a mask not of its plan, a transposed mask and a statistic of unstated direction are
# refused with one line; LiRA's experiment directories are read.
# Usage: audit_test.sh BUILD/memscope WORKDIR   (the module in BUILD/python)
set -euo pipefail
bin=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
export PYTHONPATH=$(dirname "$bin")/python
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
design=(--data fashion-mnist --limit 120 --folds 2 --repeats 2 --seed 3)

"$bin" plan "${design[@]}" --out "$work/plan" > "$work/plan.out" || fail "plan"
"$bin" run "${design[@]}" --hidden 16 --latent 2 --epochs 1 --iw-samples 2 --progress none --threads 1 \
  --out "$work/run" > /dev/null || fail "run"
cmp -s "$work/plan/mask.npy" "$work/run/mask.npy" || fail "plan's mask.npy differs from run's"

# The PyTorch example at test size, both statistics.
"$py" "$root/examples/pytorch/train_bank.py" --plan "$work/plan" --out "$work/bank" --epochs 1 --hidden 32,16 \
  --latent 4 --iw-samples 8 2> "$work/train.err" || fail "train_bank.py: $(tail -n 1 "$work/train.err")"
"$bin" score --bank "$work/bank" > "$work/score.out" || fail "score --bank of the example's bank"
grep -q "mask matches its plan" "$work/score.out" || fail "the bank's plan was not checked: $(head -n 1 "$work/score.out")"
"$py" - "$work/bank" << 'PY' || fail "module and program disagree"
import csv, sys
import numpy as np
import memscope
d = sys.argv[1]
r = memscope.score(np.load(f"{d}/logp.npy"), np.load(f"{d}/mask.npy"), labels=np.load(f"{d}/labels.npy"))
with open(f"{d}/scores.csv") as f:
    mem = [float(row["mem"]) for row in csv.DictReader(f)]
np.testing.assert_allclose(r["scores"]["mem"], mem, rtol=1e-6, atol=1e-8)
PY
"$py" "$root/examples/pytorch/train_bank.py" --plan "$work/plan" --out "$work/bank" --epochs 1 --hidden 32,16 \
  --latent 4 --iw-samples 8 --statistic loss --collect 2> /dev/null || fail "train_bank.py --statistic loss"
"$bin" score --bank "$work/bank" --out "$work/loss" > "$work/loss.out" || fail "score --bank of the loss bank"
grep -q "M is not defined" "$work/loss.out" || fail "a loss bank must say M is not defined"
head -n 1 "$work/loss/scores.csv" | grep -q ",diff,diff_se," || fail "a loss bank's scores.csv names the difference"

# What is refused, with one line and exit code 1.
refused() {  # DIR MESSAGE
  if "$bin" score --bank "$1" > /dev/null 2> "$work/err"; then fail "accepted $1"; fi
  [[ $(wc -l < "$work/err") -eq 1 ]] && grep -q "$2" "$work/err" || fail "$1: expected '$2', got: $(cat "$work/err")"
}
mkdir -p "$work/bad"
cp "$work/bank/logp.npy" "$work/bad/"
"$py" -c "import json, sys; print(json.dumps({'plan_sha256': json.load(open(sys.argv[1]))['mask_sha256']}))" \
  "$work/plan/plan.json" > "$work/bad/bank.json"
"$py" -c "import numpy as np, sys; m = np.load(sys.argv[1]); m[0] = ~m[0]; np.save(sys.argv[2], m)" \
  "$work/bank/mask.npy" "$work/bad/mask.npy"
refused "$work/bad" "not the mask of the plan"
"$py" -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).T)" "$work/bank/mask.npy" \
  "$work/bad/mask.npy"
refused "$work/bad" "the transpose of"
cp "$work/bank/mask.npy" "$work/bad/"
echo '{"statistic": "loss"}' > "$work/bad/bank.json"
refused "$work/bad" "has no direction"

# LiRA's layout: experiment-*/keep.npy and experiment-*/scores/*.npy of a bank with no membership effect.
"$bin" null-bank --n 400 --design subsets --models 8 --out "$work/null" > /dev/null
"$py" - "$work/null" "$work/lira" << 'PY'
import os, sys
import numpy as np
logp, mask = np.load(f"{sys.argv[1]}/logp.npy"), np.load(f"{sys.argv[1]}/mask.npy")
for j in range(mask.shape[1]):
    e = f"{sys.argv[2]}/experiment-{j}_8"
    os.makedirs(f"{e}/scores")
    np.save(f"{e}/keep.npy", mask[:, j])
    np.save(f"{e}/scores/0000000100.npy", np.repeat(logp[:, j, None, None], 2, axis=2))
PY
"$bin" score --bank "$work/lira" > "$work/lira.out" || fail "score --bank of LiRA's layout"
grep -q "lira layout; statistic lira-score" "$work/lira.out" || fail "LiRA layout: $(head -n 1 "$work/lira.out")"
grep -q "significant difference (> 0 at FDR 0.05): 0 of 400" "$work/lira.out" || fail "a null LiRA bank found something"
# cmake --install puts the module where that prefix's Python finds it.
cmake --install "$(dirname "$bin")" --prefix "$work/inst" > /dev/null || fail "cmake --install"
site=$("$py" -c "import sysconfig; print(sysconfig.get_path('platlib', 'posix_prefix', vars={'platbase': '$work/inst'}))")
(cd "$work" && PYTHONPATH=${site/site-packages/dist-packages}:$site "$py" -c "import memscope; memscope.plan(10)") ||
  fail "the installed module does not import"
echo "audit: ok"
