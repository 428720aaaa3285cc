#!/usr/bin/env bash
# The frontier: how reliable M and mem_log are against the CPU seconds a plan costs, one parameter at a time
# from the main job (configs/main.toml: 2,000 images, 20 epochs, 5 folds x 5 repeats, 8 importance samples).
# Each point is a run of the main job with the flags below; its cost is the run's CPU seconds (user + system,
# both cores), which other work on the machine barely changes, with its wall seconds beside them. Reliability
# is the split-half projection to the whole run; the -seed1 points check it between two seeds. Prints the
# table and draws docs/frontier.svg. A finished point is kept; an unfinished one runs again from scratch.
# Usage: scripts/frontier.sh [OUT=runs/frontier]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/frontier}
points=(
  "base             "
  "repeats-2        --repeats 2"
  "repeats-10       --repeats 10"
  "epochs-10        --epochs 10"
  "epochs-40        --epochs 40"
  "images-1000      --limit 1000"
  "images-4000      --limit 4000"
  "samples-32       --iw-samples 32"
  "subsets-10       --design subsets --models 10"
  "subsets-25       --design subsets --models 25"
  "subsets-50       --design subsets --models 50"
  "base-seed1       --seed 1"
  "repeats-10-seed1 --repeats 10 --seed 1"
  "subsets-50-seed1 --design subsets --models 50 --seed 1"
)
scripts/apt-install.sh frontier time python3-matplotlib
mkdir -p "$out"
for p in "${points[@]}"; do
  read -r name flags <<< "$p"
  [[ -f $out/$name/seconds ]] && continue
  echo "frontier: $name ($flags)"
  rm -rf "${out:?}/$name"  # resumed jobs would cost nothing
  # shellcheck disable=SC2086  # flags are words
  /usr/bin/time -f "%e %U %S" -o "$out/$name.time" \
    build/memscope run --config configs/main.toml $flags --out "$out/$name" --progress none > "$out/$name.log" 2>&1
  awk '{ printf "%.1f %.1f\n", $2 + $3, $1 }' "$out/$name.time" > "$out/$name/seconds"
done
/usr/bin/python3 scripts/frontier-table.py "$out" docs/frontier.svg
