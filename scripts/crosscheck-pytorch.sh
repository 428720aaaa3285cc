#!/usr/bin/env bash
# The same plan trained by memscope's own MLP VAE and by examples/pytorch/train_bank.py (the same architecture
# and training in plain PyTorch): do the two banks give the same distribution of M? memscope with a second seed
# is the yardstick of how much two honest banks differ.
# Usage: scripts/crosscheck-pytorch.sh [OUT=runs/crosscheck] [LIMIT=2000]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/crosscheck}
limit=${2:-2000}
design=(--limit "$limit" --folds 5 --repeats 2 --binarize sample)
training=(--epochs 5 --batch-size 64 --lr 1e-3 --hidden 512,256 --latent 16 --iw-samples 256)
mkdir -p "$out"
build/memscope plan "${design[@]}" --seed 0 --out "$out/plan"
for seed in 0 1; do
  [[ -f $out/memscope-$seed/scores.csv ]] ||
    build/memscope run "${design[@]}" "${training[@]}" --seed "$seed" --out "$out/memscope-$seed" --progress none \
      > "$out/memscope-$seed.log"
done
start=$(date +%s)
/usr/bin/python3 examples/pytorch/train_bank.py --plan "$out/plan" --out "$out/pytorch" --epochs 5 --batch-size 64 \
  --lr 1e-3 --hidden 512,256 --latent 16 --iw-samples 256 --seed 0 --threads "$(nproc)" 2> "$out/pytorch.log"
echo "pytorch: $(($(date +%s) - start)) s for 10 models" | tee "$out/pytorch-seconds.txt"
build/memscope score --bank "$out/pytorch" > "$out/pytorch-score.log"
for b in pytorch memscope-1; do  # each against memscope seed 0: distributions (KS), ranks, error bars
  echo "== memscope-0 (A) against $b (B)"
  python3 scripts/compare-scores.py "$out/memscope-0/scores.csv" "$out/$b/scores.csv"
done
