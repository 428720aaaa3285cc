#!/usr/bin/env bash
# Slurm job-array template: each array task trains one shard of the plan in a shared run
# directory; a dependent job aggregates the scores and writes the report.
#
#   sbatch --array=0-9 scripts/slurm-array.sh configs/fmnist-6k.toml runs/fmnist-6k
#   sbatch --dependency=afterok:<array job id> --wrap "build/memscope score --run runs/fmnist-6k"
#
# The run directory must be on a file system every node sees. A task that dies (node failure,
# time limit) loses only the job in flight: resubmit the array, finished jobs are skipped, and a
# job held by a live task is never trained twice (each job is claimed with a file lock).
#SBATCH --job-name=memscope
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=memscope-%A_%a.log
set -euo pipefail
config=${1:?usage: slurm-array.sh CONFIG.toml RUN_DIR}
out=${2:?usage: slurm-array.sh CONFIG.toml RUN_DIR}
shards=${SLURM_ARRAY_TASK_COUNT:-1}
shard=$(( ${SLURM_ARRAY_TASK_ID:-0} - ${SLURM_ARRAY_TASK_MIN:-0} ))
exec build/memscope train --config "$config" --out "$out" --shard "$shard/$shards" \
  --threads "${SLURM_CPUS_PER_TASK:-0}" --progress log
