#!/usr/bin/env bash
# hw_report.sh [OUTDIR]: the PWL hardware table of docs/hardware.md (docs/hw_area.md/.csv), a thin
# caller of `gqalut hw report --set pwl`: the INT8 LUT units (baked GELU, programmable) and the
# INT32/FP32 reference units at 8 and 16 entries, synthesised by the hardware layer's flow (yosys
# onto the OSU 0.18 um cells, fetched from Debian's qflow-tech-osu018 into the cache; OpenSTA for
# the critical path and the power at 100 MHz). Writes OUTDIR/hw_area.{md,csv,txt} and copies the
# first two to docs/ (GQALUT_HW_DOCS=0 skips the copy).
#
# Environment: GQALUT (the gqalut program; default build/tools/gqalut), GQALUT_CACHE_DIR (the
# synthesis cache and the Liberty file; default OUTDIR/cache), GQALUT_LIBERTY (another Liberty file).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/hw}" && cd "${1:-$ROOT/build/hw}" && pwd)
OFFICIAL=${GQALUT_OFFICIAL_DIR:-$ROOT/../shared/reference/official}
GQALUT=${GQALUT:-$ROOT/build/tools/gqalut}
[ -x "$GQALUT" ] || { echo "hw_report: $GQALUT is not built (cmake --build build --target gqalut, or set GQALUT)" >&2; exit 2; }

"$GQALUT" hw report --set pwl --table "$OFFICIAL/gelu_pwl_7.json" --table "$OFFICIAL/gelu_pwl_15.json" \
  --cache-dir "${GQALUT_CACHE_DIR:-$OUT/cache}" --jobs 2 --markdown "$OUT/hw_area.md" --csv "$OUT/hw_area.csv" |
  tee "$OUT/hw_area.txt"
if [ "${GQALUT_HW_DOCS:-1}" != 0 ]; then
  cp "$OUT/hw_area.md" "$ROOT/docs/hw_area.md"
  cp "$OUT/hw_area.csv" "$ROOT/docs/hw_area.csv"
fi
