#!/usr/bin/env bash
# hw_report.sh [OUTDIR]: synthesise the INT8 LUT units (baked GELU, programmable)
# and the INT32/FP32 reference units at 8 and 16 entries with yosys onto the
# OSU 0.18 um standard cells (Debian package qflow-tech-osu018, fetched with
# apt-get download, never installed), estimate power with OpenSTA, and print
# one table. Writes OUTDIR/hw_area.{md,csv} and copies them to docs/
# (set GQALUT_HW_DOCS=0 to skip the copy). See docs/hardware.md.
#
# Environment: GQALUT_LIB_CACHE (where the Liberty file is cached; default
# OUTDIR/osu018), GQALUT_RTL_GEN (a built gqalut_rtl_gen; default: build it in
# OUTDIR/build), GQALUT_CLOCK_NS (clock period for power, default 10).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/hw}" && cd "${1:-$ROOT/build/hw}" && pwd)
CACHE=${GQALUT_LIB_CACHE:-$OUT/osu018}
CLOCK_NS=${GQALUT_CLOCK_NS:-10}
OFFICIAL=${GQALUT_OFFICIAL_DIR:-$ROOT/../shared/reference/official}

for tool in yosys sta; do
  command -v $tool >/dev/null || { echo "hw_report: '$tool' not found (Debian: apt-get install yosys opensta)" >&2; exit 2; }
done

# 1. The Liberty file: OSU 0.18 um cells from qflow-tech-osu018 (cached).
LIB=$(find "$CACHE" -name osu018_stdcells.lib 2>/dev/null | head -1 || true)
if [ -z "$LIB" ]; then
  echo "hw_report: fetching qflow-tech-osu018 into $CACHE" >&2
  mkdir -p "$CACHE/deb"
  (cd "$CACHE/deb" && apt-get download qflow-tech-osu018 >&2)
  dpkg-deb -x "$CACHE"/deb/qflow-tech-osu018_*.deb "$CACHE"
  LIB=$(find "$CACHE" -name osu018_stdcells.lib | head -1)
fi
[ -n "$LIB" ] || { echo "hw_report: osu018_stdcells.lib not found in $CACHE" >&2; exit 2; }

# 2. The INT8 generator.
GEN=${GQALUT_RTL_GEN:-}
if [ -z "$GEN" ]; then
  cmake -S "$ROOT" -B "$OUT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGQALUT_BUILD_TESTS=ON -DGQALUT_WITH_RTL_TESTS=OFF \
    -DGQALUT_BUILD_BENCH=OFF -DGQALUT_BUILD_TOOLS=OFF >"$OUT/cmake.log" 2>&1 ||
    { cat "$OUT/cmake.log" >&2; exit 2; }
  ninja -C "$OUT/build" -j2 gqalut_rtl_gen >"$OUT/ninja.log" 2>&1 || { cat "$OUT/ninja.log" >&2; exit 2; }
  GEN=$OUT/build/tests/rtl/gqalut_rtl_gen
fi

# 3. Designs. Every unit has its output register (one pipeline stage).
mkdir -p "$OUT/rtl" "$OUT/syn"
for k in 8 16; do
  t=$OFFICIAL/gelu_pwl_$((k - 1)).json
  "$GEN" "$t" --outreg --name int8_gelu_k$k >"$OUT/rtl/int8_gelu_k$k.v"
  "$GEN" "$t" --outreg --programmable --name int8_prog_k$k >"$OUT/rtl/int8_prog_k$k.v"
done
FP32_SRC="$ROOT/rtl/lut_fp32.v $ROOT/rtl/fp32_ge.v $ROOT/rtl/fp32_mul.v $ROOT/rtl/fp32_add.v"

# synth NAME TOP "SOURCES" "CHPARAM": yosys area + OpenSTA power for one design.
synth() {
  local name=$1 top=$2 src=$3 chparam=$4 d=$OUT/syn/$1
  mkdir -p "$d"
  yosys -q -l "$d/yosys.log" -p "read_verilog $src; ${chparam:+chparam $chparam $top;} \
    synth -top $top -flatten; dfflibmap -liberty $LIB; abc -liberty $LIB; opt_clean; \
    tee -q -o $d/stat.txt stat -liberty $LIB; opt_clean -purge; \
    write_verilog -noattr -noexpr -nohex -nodec -simple-lhs $d/netlist.v" \
    >/dev/null 2>"$d/yosys.err" || { cat "$d/yosys.err" >&2; exit 2; }
  cat >"$d/power.tcl" <<TCL
read_liberty $LIB
read_verilog $d/netlist.v
link_design $top
create_clock -name clk -period $CLOCK_NS [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
set_power_activity -input -activity 0.5
set_power_activity -input_ports [get_ports {we waddr* wdata*}] -activity 0
report_power
report_checks -path_delay max -digits 3
TCL
  # OpenSTA 2.0 rejects assignments to concatenations (hence -purge and -simple-lhs above); a
  # netlist it cannot read must stop the report, not leave a wrong path or an empty column.
  sta -no_init -exit "$d/power.tcl" >"$d/sta.log" 2>&1 || { cat "$d/sta.log" >&2; exit 2; }
  if grep -q "Error" "$d/sta.log" || ! grep -q "data arrival time" "$d/sta.log"; then
    echo "hw_report: OpenSTA failed on $name (see $d/sta.log):" >&2
    grep "Error" "$d/sta.log" | head -3 >&2
    exit 2
  fi
}

declare -a ROWS=()
for k in 8 16; do
  synth int8_gelu_k$k int8_gelu_k$k "$OUT/rtl/int8_gelu_k$k.v" ""
  synth int8_prog_k$k int8_prog_k$k "$OUT/rtl/int8_prog_k$k.v" ""
  synth int32_prog_k$k lut_int32 "$ROOT/rtl/lut_int32.v" "-set K $k -set OUTREG 1"
  synth fp32_prog_k$k lut_fp32 "$FP32_SRC" "-set K $k -set OUTREG 1"
done

# 4. The table.
area() { sed -n "s/.*Chip area for module .*: \([0-9.]*\).*/\1/p" "$OUT/syn/$1/stat.txt" | tail -1 | awk '{printf "%.0f", $1}'; }
cells() { awk '/Number of cells:/ {n=$4} END {print n}' "$OUT/syn/$1/stat.txt"; }
flops() { awk '/DFF/ {n+=$2} END {print n+0}' "$OUT/syn/$1/stat.txt"; }
power_mw() { awk '/^Total/ {printf "%.3f", $5 * 1000; exit}' "$OUT/syn/$1/sta.log"; }
delay_ns() { awk '/data arrival time/ {printf "%.2f", $1; exit}' "$OUT/syn/$1/sta.log"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

MD=$OUT/hw_area.md
CSV=$OUT/hw_area.csv
{
  echo "| design | entries | area (um^2) | cells | flip-flops | critical path (ns) | power @ $((1000 / CLOCK_NS)) MHz (mW) | area vs INT32 | area vs FP32 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$MD"
echo "design,entries,area_um2,cells,flip_flops,critical_path_ns,power_mw,ratio_int32,ratio_fp32" >"$CSV"
for k in 8 16; do
  a32=$(area int32_prog_k$k)
  af=$(area fp32_prog_k$k)
  for d in int8_gelu int8_prog int32_prog fp32_prog; do
    n=${d}_k$k
    a=$(area $n)
    label=$d
    case $d in
      int8_gelu) label="INT8 baked GELU (n=6)" ;;
      int8_prog) label="INT8 programmable" ;;
      int32_prog) label="INT32 programmable" ;;
      fp32_prog) label="FP32 programmable" ;;
    esac
    r32=$(ratio "$a" "$a32")
    rf=$(ratio "$a" "$af")
    echo "| $label | $k | $a | $(cells $n) | $(flops $n) | $(delay_ns $n) | $(power_mw $n) | $r32 | $rf |" >>"$MD"
    echo "$label,$k,$a,$(cells $n),$(flops $n),$(delay_ns $n),$(power_mw $n),$r32,$rf" >>"$CSV"
  done
done

{
  echo "yosys $(yosys -V | awk '{print $2}'), OSU 0.18 um ($(basename "$LIB")), synth -flatten; dfflibmap; abc; stat -liberty."
  echo "Power: OpenSTA vectorless (inputs 0.5 toggles/cycle, table write port idle), clock $CLOCK_NS ns."
  echo
  cat "$MD"
} | tee "$OUT/hw_area.txt"
if [ "${GQALUT_HW_DOCS:-1}" != 0 ]; then
  mkdir -p "$ROOT/docs"
  cp "$MD" "$ROOT/docs/hw_area.md"
  cp "$CSV" "$ROOT/docs/hw_area.csv"
fi
