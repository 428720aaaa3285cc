#!/usr/bin/env bash
# Checks the layering of src/memscope (docs/architecture.md#layers): a file of a layer includes only
# its own layer and the layers above it in this list. Prints every include that points down a layer
# and exits non-zero if there is one. Usage: scripts/check-layers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(core io config data models plan train score analysis report pipeline bench)
declare -A rank
for k in "${!layers[@]}"; do rank[${layers[$k]}]=$k; done
bad=0
while IFS= read -r -d '' file; do
  layer=${file#src/memscope/}
  layer=${layer%%/*}
  if [[ -z ${rank[$layer]+x} ]]; then
    echo "check-layers: $file: folder '$layer' is not in the list of layers" >&2
    bad=1
    continue
  fi
  while IFS= read -r line; do
    number=${line%%:*}
    used=${line#*\"memscope/}
    used=${used%%/*}
    if [[ -z ${rank[$used]+x} ]]; then
      echo "check-layers: $file:$number: includes from unknown layer '$used'" >&2
      bad=1
    elif ((rank[$used] > rank[$layer])); then
      echo "check-layers: $file:$number: $layer includes $used, which comes after it in the layer order" >&2
      bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"memscope/' "$file" || true)
done < <(find src/memscope -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.h.in' \) -print0)
if ((bad)); then
  echo "check-layers: includes against the layer order: ${layers[*]}" >&2
  exit 1
fi
echo "check-layers: every include of src/memscope points to its own layer or one above it"
