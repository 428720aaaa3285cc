#!/usr/bin/env bash
# End-to-end: every VAE (conv with each decoder, MLP) runs and scores on a generated RGB image
# folder, and broken image input is a one-line error. Usage: conv_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
python3 "$(dirname "$0")/rgb_folder.py" "$work/images" 200 32

for spec in conv-vae:bernoulli conv-vae:logit-gaussian conv-vae:gaussian mlp-vae:bernoulli; do
  model=${spec%%:*} decoder=${spec##*:}
  out="$work/run-$model-$decoder"
  "$bin" run --data "images:$work/images" --model "$model" --decoder "$decoder" --hflip --hidden 64,32 --latent 8 \
    --folds 2 --epochs 1 --batch-size 32 --iw-samples 4 --progress none --threads 2 --out "$out" > "$out.log" 2>&1 ||
    fail "$spec: run failed: $(tail -3 "$out.log")"
  awk -F, 'NR > 1 { n++; for (i = 3; i <= 5; i++) if ($i !~ /^-?[0-9.e+-]+$/) exit 1 } END { if (n != 200) exit 2 }' \
    "$out/scores.csv" || fail "$spec: scores.csv check failed with code $?"
done

# Broken input: one line on stderr naming the file, exit code 1.
cp -r "$work/images" "$work/broken"
printf 'not a png' > "$work/broken/class1/0001.png"
set +e
"$bin" run --data "images:$work/broken" --model conv-vae --decoder gaussian --folds 2 --epochs 1 --progress none \
  --out "$work/run-broken" > /dev/null 2> "$work/broken.err"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "broken image: exit code $rc, expected 1"
[[ $(wc -l < "$work/broken.err") -eq 1 ]] || fail "broken image: expected one line, got: $(cat "$work/broken.err")"
grep -q "0001.png" "$work/broken.err" || fail "broken image: the message does not name the file"
set +e
"$bin" run --data fashion-mnist --limit 100 --no-pad --model conv-vae --folds 2 --epochs 1 --progress none \
  --out "$work/run-28" > /dev/null 2> "$work/28.err"
rc=$?
set -e
[[ $rc -eq 1 ]] && grep -q "multiples of 16" "$work/28.err" || fail "28x28 conv: $(cat "$work/28.err")"
echo "conv e2e: ok"
