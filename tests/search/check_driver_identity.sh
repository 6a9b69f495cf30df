#!/usr/bin/env bash
# Runs `gqalut fit` over a broad matrix of methods and problems and keeps every output, so that a
# refactoring of the searches can be checked to change no byte (issue 11: one per-scale / shared
# driver for ga-improved, optimal, uniform and the faithful GA's / NN-LUT's export).
#
#   tests/search/check_driver_identity.sh TOOL OUTDIR [REFDIR]
#
# Each case writes OUTDIR/<case>.json (the table file) and OUTDIR/<case>.rc (exit status and
# stderr when the tool refused the problem). The files hold no wall time. With REFDIR, every file
# is compared with `cmp` against REFDIR and the script fails on the first difference listed.
set -euo pipefail
tool=$(realpath "$1")
out=$2
ref=${3:-}
mkdir -p "$out"
jobs=${GQALUT_JOBS:-2}

cases=$(mktemp)
trap 'rm -f "$cases"' EXIT
funcs="gelu hswish exp silu reci rsqrt"
add() { printf '%s\n' "$*" >>"$cases"; }

# The table searches: every combination.
for m in uniform optimal ga-improved; do
  extra=""
  [[ $m == ga-improved ]] && extra="--generations 6 --population 6 --seed 7"
  for f in $funcs; do for k in 4 8 16; do for sh in per shared; do for obj in mse max; do
    for tie in right left; do for fmt in default auto; do for bits in 8 4; do
      o="--func $f -k $k --objective $obj --tie $tie --input-bits $bits $extra"
      [[ $sh == shared ]] && o+=" --shared"
      [[ $fmt == auto ]] && o+=" --format auto"
      add "$m.$f.k$k.$sh.$obj.$tie.$fmt.b$bits -m $m $o"
    done; done; done
  done; done; done; done
done
# Other scale sets, ranges, formats and widths (blank scales, scale 7, a custom function).
for m in uniform optimal ga-improved; do
  extra=""
  [[ $m == ga-improved ]] && extra="--generations 6 --population 6 --seed 3"
  for sh in per shared; do
    s=""; [[ $sh == shared ]] && s="--shared"
    add "$m.exp.sc0-7.$sh -m $m --func exp -k 8 --scales 0:7 $s $extra"
    add "$m.gelu.sc135.$sh -m $m --func gelu -k 8 --scales 1,3,5 $s $extra"
    add "$m.reci.b4sc.$sh -m $m --func reci -k 8 --input-bits 4 --scales 0:7 --tie left $s $extra"
    add "$m.rsqrt.b3.$sh -m $m --func rsqrt -k 4 --input-bits 3 $s $extra"
    add "$m.gelu.range.$sh -m $m --func gelu -k 8 --range -2.3 1.7 --objective max $s $extra"
    add "$m.gelu.q25.$sh -m $m --func gelu -k 8 --format q2.5 $s $extra"
    add "$m.reci.auto10.$sh -m $m --func reci -k 8 --format auto:10 --tie left $s $extra"
    add "$m.mish.$sh -m $m --expr x*tanh(log(1+exp(x))) --range -4 4 -k 8 $s $extra"
    add "$m.silu.b16.$sh -m $m --func silu -k 8 --input-bits 16 --scales 8 $s $extra"
  done
done
for f in $funcs; do for rm in rm no-rm; do
  r=""; [[ $rm == no-rm ]] && r="--no-rm"
  add "ga-improved.$f.$rm.shared.long -m ga-improved --func $f -k 8 --shared --generations 30 --population 12 --seed 5 $r"
  add "ga-improved.$f.$rm.per.long -m ga-improved --func $f -k 8 --generations 30 --population 12 --seed 5 $r"
done; done
# The faithful GA (one real table rounded to every scale) on both random sources.
for f in $funcs; do for k in 4 8 16; do for fmt in default auto; do for bits in 8 4; do
  for tie in right left; do for eng in std::mt19937_64 numpy-deap; do
    o="--func $f -k $k --input-bits $bits --tie $tie --engine $eng --generations 8 --population 8 --seed 42"
    [[ $fmt == auto ]] && o+=" --format auto"
    add "ga-faithful.$f.k$k.$fmt.b$bits.$tie.${eng%%:*} -m ga-faithful $o"
  done; done
done; done; done; done
add "ga-faithful.gelu.official -m ga-faithful --func gelu -k 8 --engine numpy-deap --seed 42 --generations 60"
add "ga-faithful.reci.sc0-7 -m ga-faithful --func reci -k 8 --scales 0:7 --generations 8 --population 8"
add "ga-faithful.mish -m ga-faithful --expr x*tanh(log(1+exp(x))) --range -4 4 -k 8 --generations 8 --population 8"
# NN-LUT (its run is ~1 s at the default work).
for f in $funcs; do for k in 4 16; do
  add "nnlut.$f.k$k -m nnlut --func $f -k $k --seed 2"
done; done
add "nnlut.reci.auto.b4.left -m nnlut --func reci -k 8 --format auto --input-bits 4 --tie left"
add "nnlut.exp.sc0-7 -m nnlut --func exp -k 8 --scales 0:7"

run_case() {
  local name=$1
  shift
  if "$tool" fit "$@" -q -o "$out/$name.json" 2>"$out/$name.err"; then
    rm -f "$out/$name.err"
  else
    echo "rc $?" >"$out/$name.rc"
    cat "$out/$name.err" >>"$out/$name.rc"
    rm -f "$out/$name.err" "$out/$name.json"
  fi
}
export -f run_case
export tool out
# Arguments are split on spaces, without globbing (no case needs a space inside an argument).
tr '\n' '\0' <"$cases" | xargs -0 -P "$jobs" -n 1 bash -c 'set -f; run_case $1' _
echo "$(wc -l <"$cases") cases, $(ls "$out" | wc -l) files in $out"

if [[ -n $ref ]]; then
  bad=0
  for f in "$ref"/*; do
    b=$(basename "$f")
    if ! cmp -s "$f" "$out/$b"; then
      echo "DIFFERS: $b"
      bad=$((bad + 1))
    fi
  done
  extra=$(comm -13 <(ls "$ref") <(ls "$out") | wc -l)
  echo "compared $(ls "$ref" | wc -l) files with $ref: $bad differ, $extra only in $out"
  ((bad == 0 && extra == 0))
fi
