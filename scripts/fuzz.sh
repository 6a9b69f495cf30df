#!/usr/bin/env bash
# Fuzzes gqalut's input parsers with libFuzzer + AddressSanitizer + UBSan (docs/fuzzing.md).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 120)
# Builds build-fuzz/ with clang, seeds the JSON reader with the official tables, runs each
# target for the given time and exits non-zero on the first finding (its input is saved
# under build-fuzz/findings/). Not part of the test command: it is open-ended by nature.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-120}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
  echo "fuzz.sh: seconds per target must be a positive integer, got '$secs'" >&2
  exit 2
fi
GQALUT_WITH_TORCH=OFF GQALUT_WITH_FUZZ=ON bash "$root/scripts/deps.sh"
out=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGQALUT_BUILD_FUZZERS=ON -DGQALUT_BUILD_TESTS=OFF -DGQALUT_BUILD_BENCH=OFF \
  -DGQALUT_BUILD_TOOLS=OFF -DGQALUT_WITH_TORCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" >/dev/null
cmake --build "$out" -j "${GQALUT_JOBS:-2}" --target fuzz_read_json fuzz_parsers
mkdir -p "$out/corpus/json" "$out/corpus/parsers" "$out/findings"
cp "$root/../shared/reference/official/"*.json "$out/corpus/json/" 2>/dev/null || true
# Parser seeds: selector byte (0 format, 1 format or auto, 2 scales, 3 protocol, 4 function,
# 5 expression), two range bytes, then the text.
i=0
for t in q1.6 q-1.8 auto 0:6 0,2,5 int grid gelu div sqrt_reci 'exp(x)/(1+x*x)' 'x*erf(x/sqrt(2))' 1/x; do
  for sel in 0 1 2 3 4 5; do
    printf "\\x$(printf %02x $sel)\\x80\\x40%s" "$t" >"$out/corpus/parsers/seed$i"
    i=$((i + 1))
  done
done
run() {
  local name=$1 corpus=$2
  shift 2
  echo "== $name: ${secs}s" >&2
  "$out/fuzz/$name" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/findings/$name-" "$@" "$corpus" 2>&1 | grep -aE "^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|fuzz_|SUMMARY|==[0-9]+==ERROR)" || true
  if ls "$out/findings/$name-"* >/dev/null 2>&1; then
    echo "fuzz.sh: $name found an input that breaks its contract: $(ls "$out/findings/$name-"* | head -1)" >&2
    return 1
  fi
}
run fuzz_read_json "$out/corpus/json" -dict="$root/fuzz/json.dict" -max_len=8192
run fuzz_parsers "$out/corpus/parsers" -max_len=256
echo "fuzz.sh: no findings" >&2
