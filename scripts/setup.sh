#!/usr/bin/env bash
# Installs the Debian packages memscope needs (skipping those present) and builds build/memscope.
# Usage: scripts/setup.sh            (Release build in ./build)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake g++ make pkg-config
  libtorch-dev            # tensors, autograd, optimizers (LibTorch 1.13)
  libopenblas0-pthread    # fast BLAS for LibTorch; without it matmuls use the reference BLAS
  libcli11-dev            # command-line parsing
  nlohmann-json3-dev      # config.json, job results
  libtoml11-dev           # --config FILE
  libspdlog-dev libfmt-dev  # logging and formatting
  zlib1g-dev              # gzip-compressed IDX files
  libgtest-dev            # the test suite
  dataset-fashion-mnist   # the default data set
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/memscope"
