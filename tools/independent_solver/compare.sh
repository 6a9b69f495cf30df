#!/bin/sh
# Re-runs the independent solver and compares it with the committed numbers
# (reference_q1.6_k8.txt) that tests/search/test_optimal.cpp checks
# gqalut::Optimal against. Default: scales 0..3 (a few seconds); pass 0:6 for
# all (a few minutes).
#   sh tools/independent_solver/compare.sh [scales]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scales=${1:-0:3}
bin=${TMPDIR:-/tmp}/gqalut_independent_solver.$$
g++ -O2 -std=c++17 "$here/solver.cpp" -o "$bin"
"$bin" --scales "$scales" | grep -v paper_score > "$bin.out"
rm -f "$bin"
status=0
while read -r op n points mse; do
  ref=$(awk -v o="$op" -v s="$n" '$1 == o && $2 == s { print $3, $4 }' "$here/reference_q1.6_k8.txt")
  if [ "$ref" != "$points $mse" ]; then
    echo "MISMATCH $op n=$n: solver '$points $mse' reference '$ref'"
    status=1
  else
    echo "ok $op n=$n points=$points mse=$mse"
  fi
done < "$bin.out"
rm -f "$bin.out"
exit $status
