#!/usr/bin/env bash
# Fuzzes gqalut's input parsers (table JSON, option texts, ops --rows files) and the text that
# reaches generated C/Verilog, with libFuzzer + AddressSanitizer + UBSan (docs/fuzzing.md).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 120; scripts/test.sh runs it with 60)
# Builds build-asan/ (scripts/sanitize_build.sh), makes a seed corpus from the committed seeds
# (fuzz/seeds/: deep nesting, typed metadata, huge ranges), the official tables and every kind of
# table file the freshly built gqalut writes, runs each target for the given time and exits 1 on
# the first finding (its input is saved under build-asan/fuzz-findings/). A finding is a sanitizer
# report, a crash or stack overflow, a timeout, or any error other than the documented one
# (std::invalid_argument with a one-line message): the targets abort on everything else.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-120}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
  echo "fuzz.sh: seconds per target must be a positive integer, got '$secs'" >&2
  exit 2
fi
bash "$root/scripts/sanitize_build.sh"
out=$root/build-asan
tool=$out/tools/gqalut
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
corpus=$out/fuzz-corpus
findings=$out/fuzz-findings
rm -rf "$corpus" "$findings"
mkdir -p "$corpus/json" "$corpus/parsers" "$corpus/rows" "$corpus/names" "$findings"

# JSON seeds: committed hostile seeds, the official tables, and every table file gqalut writes.
cp "$root/fuzz/seeds/json/"*.json "$corpus/json/"
cp "$root/../shared/reference/official/"*.json "$corpus/json/" 2>/dev/null || true
j=$corpus/json
fit() { "$tool" fit -q "$@"; }
fit --func gelu --entries 4 --scales 0:6 --method optimal -o "$j/fit_optimal.json"
fit --func exp --entries 8 --scales 3:5 --method optimal --shared -o "$j/fit_optimal_shared.json"
fit --func gelu --entries 4 --scales 4 --method optimal --format auto -o "$j/fit_auto_format.json"
fit --func reci --entries 4 --scales 5 --method optimal --objective max -o "$j/fit_max_objective.json"
fit --func hswish --entries 4 --scales 4,6 --method uniform -o "$j/fit_uniform.json"
fit --func gelu --entries 8 --faithful --generations 3 -o "$j/fit_ga_faithful.json"
fit --func gelu --entries 4 --scales 2:3 --generations 3 -o "$j/fit_ga_improved.json"
fit --func silu --entries 4 --scales 4 --method nnlut -o "$j/fit_nnlut.json"
fit --expr "x*tanh(log(1+exp(x)))" --range -4 4 --entries 4 --scales 4 --method optimal -o "$j/fit_expression.json"
fit --func gelu --entries 4 --scales 4 --method optimal --slope-format q2.5 --intercept-format q3.4 \
  -o "$j/fit_formats.json"
if "$tool" fit --help | grep -q -- "--tie"; then
  fit --func gelu --entries 4 --scales 4 --method optimal --tie left -o "$j/fit_tie_left.json"
fi
"$tool" export --format json "$root/../shared/reference/official/gelu_pwl_7.json" -o "$j/export_official.json" \
  2>/dev/null || true
"$tool" export --format json "$j/fit_optimal.json" -o "$j/export_fit.json"
"$tool" compare --funcs rsqrt --entries 4 --generations 2 --tables "$j/compare" >/dev/null
mv "$j/compare/"*.json "$j/" && rmdir "$j/compare"
echo "fuzz.sh: $(ls "$j" | wc -l) JSON seeds" >&2

# Parser seeds: selector byte (0 format, 1 format or auto, 2 scales, 3 protocol, 4 function,
# 5 expression, 6 P-grid range "lo hi", 7 search range "lo hi"), two range bytes, then the text.
i=0
seed() { printf "\\x$(printf %02x "$1")\\x80\\x40%s" "$2" >"$corpus/parsers/seed$i"; i=$((i + 1)); }
for t in q1.6 q-1.8 auto 0:6 0,2,5 int grid gelu div sqrt_reci 'exp(x)/(1+x*x)' 'x*erf(x/sqrt(2))' 1/x '1/(x-1)'; do
  for sel in 0 1 2 3 4 5; do seed $sel "$t"; done
done
for t in "-4 4" "0 1" "-1e7 1e7" "-1e17 1e17" "-1e308 1e308" "-65536 65536" "1 1" "nan 1" "-inf 0"; do
  seed 6 "$t"
  seed 7 "$t"
done

# Rows seeds (ops --rows): selector byte 0 (.npy with its size), 1 (.npy as a stream), 2 (CSV),
# then a committed file: every dtype, 1-D and 2-D, a shape whose product wraps 64 bits, CSV with
# comments and blank lines.
for f in "$root/fuzz/seeds/rows/"*.npy; do
  b=$(basename "$f" .npy)
  { printf '\x00'; cat "$f"; } >"$corpus/rows/${b}_sized"
  { printf '\x01'; cat "$f"; } >"$corpus/rows/${b}_stream"
done
for f in "$root/fuzz/seeds/rows/"*.csv; do { printf '\x02'; cat "$f"; } >"$corpus/rows/$(basename "$f" .csv)"; done

# Export-name seeds: flags (bit 0: give --name), the lengths of the function name and of the
# method metadata, those texts, then the name. The injections of issue 18 and plain names.
j=0
name_seed() {  # FLAGS FUNCTION METHOD NAME
  printf "\\x$(printf %02x "$1")\\x$(printf %02x "${#2}")\\x$(printf %02x "${#3}")%s%s%s" "$2" "$3" "$4" \
    >"$corpus/names/seed$j"
  j=$((j + 1))
}
name_seed 0 'gelu */ int gqalut_injected = 42; /* ' 'ga' ''
name_seed 0 $'gelu\nmodule injected; endmodule\n//' $'x\n*/' ''
name_seed 0 'gelu ??/' 'a /* b' ''
name_seed 1 'gelu' 'optimal' 'module'
name_seed 1 'gelu' 'optimal' 'my_lut'
name_seed 1 'gelu' 'optimal' '_x'
name_seed 1 'silu' '`define X' 'lut8__a'

run() {
  local name=$1 corpus=$2
  shift 2
  echo "== $name: ${secs}s" >&2
  "$out/fuzz/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/$name-" "$@" "$corpus" 2>&1 |
    grep -aE "^(#[0-9]+ *(INITED|DONE)|Done|stat::number_of_executed_units|fuzz_|SUMMARY|==[0-9]+==ERROR)" || true
  if ls "$findings/$name-"* >/dev/null 2>&1; then
    echo "fuzz.sh: $name found an input that breaks its contract: $(ls "$findings/$name-"* | head -1)" >&2
    return 1
  fi
}
# -max_len above the deepest committed seed (60 KB of nesting): the old 8192 capped nesting far
# below every depth that crashed the reader.
run fuzz_read_json "$corpus/json" -dict="$root/fuzz/json.dict" -max_len=131072
run fuzz_parsers "$corpus/parsers" -max_len=256
# Rows: -max_len covers a 2-D .npy of a few thousand values and long CSV lines.
run fuzz_rows "$corpus/rows" -max_len=65536
run fuzz_export_names "$corpus/names" -max_len=512
echo "fuzz.sh: no findings" >&2
