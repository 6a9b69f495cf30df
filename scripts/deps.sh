#!/usr/bin/env bash
# Installs gqalut's build and test dependencies from Debian 12 packages (needs root or sudo).
# Skips apt-get entirely when everything is already installed.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libmuparser-dev
  gnuplot-nox iverilog verilator yosys
  opensta  # timing (critical paths, power) of scripts/hw_report.sh and gqalut sweep
)
if [[ "${GQALUT_WITH_TORCH:-ON}" == "ON" ]]; then
  pkgs+=(libtorch-dev libopenblas0-openmp dataset-fashion-mnist zlib1g-dev)
fi
if [[ "${GQALUT_WITH_PYTHON:-ON}" == "ON" ]]; then  # the Python package (python/)
  pkgs+=(python3-dev pybind11-dev python3-pybind11 python3-numpy python3-torch python3-pytest
         python3-torchvision)
  # issue 18: `pip install .` without network (pyproject.toml, --no-build-isolation) and its venv test
  pkgs+=(python3-pip python3-venv python3-setuptools python3-wheel)
  # issue 17: ONNX models, rendering text for PP-OCR, fonts and texts with known labels
  pkgs+=(python3-onnx python3-pil fonts-dejavu-core fonts-liberation bible-kjv sword-text-web diatheke fortunes)
  # node + npm for scripts/npm_deps.sh (skipped when present, e.g. NodeSource's nodejs bundles npm)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
if [[ "${GQALUT_WITH_XNNPACK:-ON}" == "ON" ]]; then  # bench/bench_peers.cpp's peer
  pkgs+=(libxnnpack-dev libpthreadpool-dev libcpuinfo-dev)
fi
if [[ "${GQALUT_WITH_FUZZ:-ON}" == "ON" ]]; then  # the test command fuzzes (scripts/fuzz.sh): clang, libFuzzer
  pkgs+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
