#!/bin/sh
# Checks the error columns of a `gqalut sweep --csv` file (objective mse)
# against the independent solver, row by row: the paper score and the max
# |error| must be equal to the last printed digit (%.17g). Rows run in
# parallel (JOBS, default 2).
#   sh tools/independent_solver/check_sweep.sh sweep.csv [JOBS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
csv=$1
jobs=${2:-2}
bin=${TMPDIR:-/tmp}/gqalut_independent_solver.$$
g++ -O2 -std=c++17 "$here/solver.cpp" -o "$bin"
export bin
tail -n +2 "$csv" | awk -F, '{ print $1, $2, $3, $5, $6, $7, $8, $21 }' |
  xargs -P "$jobs" -L 1 sh -c '
    out=$("$bin" --ops "$0" --entries "$1" --input-bits "$2" --slope-format "$3" --intercept-format "$4" --scales "$7" --max)
    score=$(echo "$out" | awk "\$2 == \"paper_score\" { print \$3 }")
    maxabs=$(echo "$out" | awk "\$2 != \"paper_score\" && (\$5 + 0 > m + 0 || m == \"\") { m = \$5 } END { print m }")
    if [ "$score" = "$5" ] && [ "$maxabs" = "$6" ]; then
      echo "ok $0 K=$1 b_in=$2 $3 $4 paper_score=$5 max_abs=$6"
    else
      echo "MISMATCH $0 K=$1 b_in=$2 $3 $4: sweep $5 $6, solver $score $maxabs"
    fi' > "$bin.out"
rm -f "$bin"
sort "$bin.out"
n=$(grep -c . "$bin.out" || true)
bad=$(grep -c MISMATCH "$bin.out" || true)
rm -f "$bin.out"
echo "$((n - bad)) of $n rows agree"
[ "$bad" -eq 0 ]
