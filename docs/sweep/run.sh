#!/bin/sh
# The runs of docs/sweep.md (2 jobs; about 30 min cold on a loaded 2-core VM, seconds warm).
# Critical paths from OpenSTA (--timing opensta: an error, not a fallback, without it).
#   sh docs/sweep/run.sh [path/to/gqalut]
set -eu
G=${1:-build/tools/gqalut}
D=$(cd "$(dirname "$0")" && pwd)
C=${GQALUT_CACHE_DIR:-$HOME/.cache/gqalut}
for f in gelu exp rsqrt; do
  "$G" sweep --func $f --entries 4,8,16,32 --input-bits 4:8 --coef-bits 4:8 --ref-entries 4,8,16,32 --jobs 2 \
    --timing opensta --cache-dir "$C" --csv "$D/$f.csv" --plot "$D/$f.png" > "$D/$f.txt"
done
for spec in gelu:5 exp:4 rsqrt:5; do
  f=${spec%:*}; n=${spec#*:}
  "$G" sweep --func $f --scales $n --entries 4,8,16,32 --input-bits 4:8 --coef-bits 4:8 --ref-entries 4,8,16,32 \
    --jobs 2 --timing opensta --cache-dir "$C" --judge int8 --csv "$D/${f}_n$n.csv" --plot "$D/${f}_n$n.png" > "$D/${f}_n$n.txt"
done
/usr/bin/python3 "$D/tables.py" > "$D/tables.md"
