#!/usr/bin/env bash
# Configures and builds gqalut into build/ (Release, Ninja): every target, or the targets named
# as arguments. Set GQALUT_WITH_TORCH=OFF to skip LibTorch, GQALUT_WITH_XNNPACK=OFF to build
# bench_peers without XNNPACK.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGQALUT_WITH_TORCH="${GQALUT_WITH_TORCH:-ON}" -DGQALUT_WITH_XNNPACK="${GQALUT_WITH_XNNPACK:-ON}" >/dev/null
if (($#)); then
  cmake --build "$root/build" -j "${GQALUT_JOBS:-2}" --target "$@"
else
  cmake --build "$root/build" -j "${GQALUT_JOBS:-2}"
fi
