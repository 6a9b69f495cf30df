#!/usr/bin/env bash
# Builds build-asan/: the library, the gqalut tool, the test suite and the libFuzzer targets with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer (-fno-sanitize-recover=all: any UB report
# fails), and libFuzzer's coverage instrumentation (fuzzer-no-link; only fuzz/ links libFuzzer).
# One build serves both sanitizer stages of scripts/test.sh: its ctest and scripts/fuzz.sh.
# Without LibTorch, Python, XNNPACK, benchmarks and Verilog simulations (the release stage runs those).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GQALUT_WITH_TORCH=OFF GQALUT_WITH_PYTHON=OFF GQALUT_WITH_XNNPACK=OFF bash "$root/scripts/deps.sh"
out=$root/build-asan
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=None "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="-O1 -g1 $san -fsanitize=fuzzer-no-link" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DGQALUT_BUILD_FUZZERS=ON -DGQALUT_BUILD_TESTS=ON -DGQALUT_BUILD_TOOLS=ON -DGQALUT_BUILD_BENCH=OFF \
  -DGQALUT_WITH_TORCH=OFF -DGQALUT_WITH_PYTHON=OFF -DGQALUT_WITH_XNNPACK=OFF -DGQALUT_WITH_RTL_TESTS=OFF >/dev/null
cmake --build "$out" -j "${GQALUT_JOBS:-2}"
