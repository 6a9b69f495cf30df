#!/usr/bin/env bash
# Reproduces docs/vit_results.{md,csv,png} (see docs/vit.md): a small ViT on
# Fashion-MNIST, FP32 -> QAT (int8, power-of-two LSQ scales) -> every
# non-linearity replaced by gqalut tables (NN-LUT, faithful GA, optimum; 8 and
# 16 entries) with a short fine-tune, 3 seeds, plus the integer-only check.
# Installs nothing: it checks the prerequisites, configures with
# -DGQALUT_WITH_TORCH=ON, builds, makes the tables, trains, plots.
# About 20-25 minutes on 2 idle cores (the build takes ~4 of them).
# VIT_MODEL=effvit runs the same study on the EfficientViT-style model (ReLU
# linear attention whose division uses the reciprocal table, HSWISH MLP) and
# writes docs/effvit_results.* instead.
#
#   scripts/vit_experiment.sh            # the full study
#   VIT_QUICK=1 scripts/vit_experiment.sh   # a 2-minute dry run (not written to docs/)
#   VIT_MODEL=effvit scripts/vit_experiment.sh   # the EfficientViT-style study
#   BUILD_DIR=DIR VIT_SKIP_BUILD=1 scripts/vit_experiment.sh   # programs already built in DIR
set -euo pipefail

model=${VIT_MODEL:-vit}
case "$model" in
  vit) prefix=vit; title="Small ViT" ;;
  effvit) prefix=effvit; title="EfficientViT-style model" ;;
  *) echo "vit_experiment: VIT_MODEL must be vit or effvit, got '$model'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-vit}
data=${VIT_DATA:-/usr/share/datasets/fashion-mnist}
docs=$root/docs

fail() { echo "vit_experiment: $*" >&2; exit 2; }
for tool in cmake ninja gnuplot c++; do
  command -v "$tool" >/dev/null || fail "missing prerequisite '$tool'"
done
[ -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ] || [ -n "${Torch_DIR:-}" ] ||
  fail "LibTorch not found (Debian: libtorch-dev; or set Torch_DIR)"
for f in train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1; do
  [ -f "$data/$f-ubyte.gz" ] || fail "missing $data/$f-ubyte.gz (Debian: dataset-fashion-mnist)"
done

start=$(date +%s)
if [ "${VIT_SKIP_BUILD:-0}" = 1 ]; then  # reuse the programs already built in $build
  [ -x "$build/experiments/vit/gqalut_vit_run" ] || fail "VIT_SKIP_BUILD=1 but $build has no gqalut_vit_run"
else
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGQALUT_WITH_TORCH=ON >/dev/null
  ninja -C "$build" -j2 gqalut_vit_run gqalut_vit_tables
  echo "build: $(( $(date +%s) - start )) s" >&2
fi

# Tables from gqalut's own searches (seed 1), cached in the build folder.
tables=$build/vit_tables
"$build/experiments/vit/gqalut_vit_tables" --out "$tables" --methods nnlut,ga-faithful,optimal --entries 8,16 --seed 1 --model "$model"

# One thread: on a shared or busy machine OpenMP's spinning makes 2 threads slower.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if [ "${VIT_QUICK:-0}" = 1 ]; then
  out=$build/${prefix}_quick
  args=(--seeds 1 --train-subset 2048 --test-subset 2000 --fp32-epochs 2 --qat-epochs 1 --finetune-steps 10)
else
  out=$docs/${prefix}_results
  # 30000 training images (the first half of the training set), 3 epochs FP32,
  # 1 epoch QAT, 100 fine-tune steps per variant, batch 128; the full test set.
  args=(--seeds 1,2,3 --train-subset 30000 --fp32-epochs 3 --qat-epochs 1 --finetune-steps 100)
fi
mkdir -p "$(dirname "$out")"
"$build/experiments/vit/gqalut_vit_run" --data "$data" --tables "$tables" \
  --model "$model" --methods nnlut,ga-faithful,optimal --entries 8,16 --threads 1 --batch 128 --out "$out" "${args[@]}" |
  tee "${out}_check.txt"

gnuplot <<GP
set terminal pngcairo size 900,480 font ",11"
set output "${out}.png"
set datafile separator ","
set title "${title} on Fashion-MNIST: int8 QAT with gqalut LUT non-linearities (mean ± sd over seeds)"
set ylabel "test accuracy (%)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -30
stats "${out}.csv" using 3 nooutput
set yrange [STATS_min - 1.5 : STATS_max + 0.8]
plot "${out}.csv" every ::1 using 1:3:xtic(2) with boxes lc rgb "#4477aa" notitle, \
     "" every ::1 using 1:3:4 with yerrorbars lc rgb "black" pt 7 ps 0.5 notitle
GP
cat "${out}.md"
echo "total wall time: $(( $(date +%s) - start )) s" | tee -a "${out}_check.txt" >&2
