#!/usr/bin/env bash
# End-to-end: duplicated images (--duplicate) and extraction. A planted case first: Gaussian KDEs
# with a small bandwidth sample their training images plus a little noise, so every sample copies
# a training image; two images appear 60 times each, more often than the adaptive rule's 50
# neighbours, which must therefore be counted once (distinct images), or their copies would be
# missed; a second seed goes through scripts/extraction-seeds.py. Then the duplicated-images DDPM
# configuration at test size runs, scores and extracts.
# Usage: duplicates_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
value() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

"$bin" run --data fashion-mnist --limit 100 --duplicate 2,60 --binarize none --model kde:0.03 --folds 2 \
  --progress none --out "$work/kde" > "$work/kde.log" 2>&1 || fail "kde run: $(tail -3 "$work/kde.log")"
[[ $(($(wc -l < "$work/kde/scores.csv") - 1)) -eq 218 ]] || fail "scores.csv should have 100 + 2 x 59 rows"
"$bin" extract --run "$work/kde" --samples 300 --no-report > "$work/kde-x.log" 2>&1 ||
  fail "kde extract: $(tail -3 "$work/kde-x.log")"
x="$work/kde/extraction.json"
in=$(value "$x" 'd["overall"]["copies_of_training"]')
out=$(value "$x" 'd["overall"]["copies_of_held_out"]')
dup=$(value "$x" 'd["duplicated"]["copies_of_them"]')
[[ $(value "$x" 'd["duplicated"]["images"]') -eq 2 ]] || fail "extraction.json should count 2 duplicated images"
# About 55% of each model's training rows are copies of the two images; every sample is a copy.
(( in >= 540 && out <= 6 )) || fail "expected nearly all 600 samples to copy training images: $in in, $out out"
(( dup >= 240 )) || fail "expected the duplicated images among the copies: $dup of $in"
echo "kde: $in copies of training images ($dup of the duplicated two), $out of held-out ones"

# scripts/extraction-seeds.py on a second seed: both runs copy both duplicated images.
"$bin" run --data fashion-mnist --limit 100 --duplicate 2,60 --binarize none --model kde:0.03 --folds 2 \
  --progress none --seed 1 --out "$work/kde1" > "$work/kde1.log" 2>&1 || fail "kde seed 1: $(tail -3 "$work/kde1.log")"
"$bin" extract --run "$work/kde1" --samples 300 --no-report > "$work/kde1-x.log" 2>&1 ||
  fail "kde seed 1 extract: $(tail -3 "$work/kde1-x.log")"
seeds=$(python3 "$(dirname "$0")/../../scripts/extraction-seeds.py" "$work/kde" "$work/kde1") || fail "extraction-seeds.py"
[[ $(grep -c "of them duplicated: 2 of 2" <<< "$seeds") -eq 2 ]] || fail "extraction-seeds.py: $seeds"
# Each model copies most of its training images, and the two seeds' models together train on nearly
# all 100: the copied sets mostly agree (measured 0.95).
overlap=$(sed -n 's/^between the runs: .*(overlap \([0-9.]*\) of the smaller set).*/\1/p' <<< "$seeds")
python3 -c "import sys; sys.exit(float(sys.argv[1]) < 0.8)" "${overlap:-0}" || fail "extraction-seeds.py overlap: $seeds"

# The duplicated-images DDPM configuration, shrunk to test size (flags override the file).
cfg=$(dirname "$0")/../../configs/fmnist-2k-dup-ddpm.toml
"$bin" run --config "$cfg" --limit 60 --duplicate 2,10 --channels 8,16 --timesteps 50 --epochs 1 \
  --elbo-samples 4 --loss-timesteps 5,10,20 --checkpoint-every 0 --progress none --threads 2 --out "$work/ddpm" > "$work/ddpm.log" 2>&1 ||
  fail "ddpm run: $(tail -3 "$work/ddpm.log")"
"$bin" extract --run "$work/ddpm" --samples 8 --sampler ddim --sample-steps 5 --no-report > "$work/ddpm-x.log" 2>&1 ||
  fail "ddpm extract: $(tail -3 "$work/ddpm-x.log")"
[[ $(value "$work/ddpm/extraction.json" 'd["duplicated"]["images"]') -eq 2 ]] || fail "ddpm: 2 duplicated images"
[[ $(($(wc -l < "$work/ddpm/scores.csv") - 1)) -eq 78 ]] || fail "ddpm: scores.csv should have 60 + 2 x 9 rows"
echo "duplicates e2e: ok"
