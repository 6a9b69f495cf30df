"""The study's integer operations: one factory that turns (method, entries, calibration) into
callables replacing each kind of non-linear site of a model by gqalut's integer datapath.

Kinds: element-wise activations (hswish, hsigmoid, silu, sigmoid, tanh) through
gqalut.torch.TableActivation (int8 input codes at a calibrated power-of-two scale, the table's
integer output), or on int16 codes (the table lifted to 16-bit codes), or (act_mode "product")
hard-swish and SiLU as the integer product of x's code and a gate table's output (x . hsigmoid(x),
x . sigmoid(x); gate tables with 16-bit coefficient codes, see :class:`ProductSite`); softmax through gqalut.torch.IntSoftmax (int32 input codes, EXP2M1 + DIV tables,
uint8 probabilities at 2^-8); LayerNorm through the library's integer LayerNorm (int8 input,
int8 gamma, int32 beta, RSQRT table + Newton steps, int8 output), with the input-scale policy
chosen by `ln_mode` (see :class:`LayerNormSite`).

Post-training only: every scale comes from a calibration pass on unlabelled inputs
(:class:`Calibration`), never from labels.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

import gqalut
import gqalut.torch as gt
from gqalut import _core

ACT_KINDS = ("hswish", "hsigmoid", "silu", "sigmoid", "tanh")
ALL_KINDS = ACT_KINDS + ("softmax", "layernorm")
ACT_SCALES = tuple(range(0, 10))   # activation input scales n (x = q 2^-n) the tables are fitted for
ACT_SCALES_TEXT = "0:9"
HEADROOM = float(os.environ.get("GQALUT_STUDY_HEADROOM", "1.0"))  # calibrated |x| max x this must fit the codes
TABLE_METHODS = ("optimal", "ga-improved", "ga-faithful", "nnlut", "uniform")
METHODS = TABLE_METHODS + ("official", "ibert", "quant-only")

# PP-OCRv4's hard-sigmoid (ONNX HardSigmoid alpha = 1/6, beta = 0.5) is not a registry function.
_FIT_SPEC = {
    "hswish": dict(func="hswish"),
    "hsigmoid": dict(expr="min(max(x/6+0.5,0),1)"),
    "silu": dict(func="silu"),
    "sigmoid": dict(func="sigmoid"),
    "tanh": dict(func="tanh"),
}
# the range each function's tables are fitted on: the non-linear part; outside it the outer
# segments continue linearly (hswish/hsigmoid/tanh are linear or constant there, silu/sigmoid within 3e-3)
FIT_RANGE = {"hswish": (-4.0, 4.0), "hsigmoid": (-4.0, 4.0), "tanh": (-4.0, 4.0), "silu": (-8.0, 8.0),
             "sigmoid": (-8.0, 8.0)}
MAX_SCALE = 12  # the largest scale key a table file takes
ACT_MODES = ("tensor", "channel", "int16", "product")
# act_mode "product": hard-swish and SiLU as x times a gate table (the gate's function and its
# table's coefficient format: 16-bit codes, 14 fraction bits: the gate's values lie in [0, 1])
PRODUCT_GATE = {"hswish": "hsigmoid", "silu": "sigmoid"}
GATE_FORMAT = "q1.14"
# the softmax and LayerNorm stages' tables: the library's operation recipes (include/gqalut/recipes.hpp)
OP_RECIPES = {"exp2m1": "exp2m1", "reci": "div", "rsqrt": "rsqrt"}

_EXACT = {
    "hswish": lambda x: torch.nn.functional.hardswish(x),
    "hsigmoid": lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
    "silu": lambda x: x * torch.sigmoid(x),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
OFFICIAL_FILES = {  # (function, entries) -> file in the official release
    ("hswish", 8): "hswish_pwl_7.json", ("hswish", 16): "hswish_pwl_15.json",
    ("silu", 8): "silu_pwl_7.json",
    ("reci", 8): "reci_pwl_7.json", ("reci", 16): "reci_pwl_15.json",
    ("rsqrt", 8): "sqrt_reci_pwl_7.json", ("rsqrt", 16): "sqrt_reci_pwl_15.json",
}


def official_dir() -> Optional[str]:
    d = os.environ.get("GQALUT_SHARED_DIR")
    cands = [os.path.join(d, "reference", "official")] if d else []
    here = os.path.dirname(os.path.abspath(__file__))
    cands.append(os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "reference", "official")))
    for c in cands:
        if os.path.isdir(c):
            return c
    return None


# ---------------------------------------------------------------- calibration

@dataclass
class SiteStats:
    lo: float = math.inf
    hi: float = -math.inf
    out_absmax: float = 0.0     # LayerNorm output |y| max
    core_absmax: float = 0.0    # LayerNorm |y - beta| max (gamma * xhat)
    chan_absmax: Optional[torch.Tensor] = None  # activations: |x| max per channel (dim 1 of 4-D, last of 3-D)
    span: float = 0.0           # softmax: max over rows of (row max - row min), finite part

    def add(self, x: torch.Tensor) -> None:
        if x.numel():
            self.lo = min(self.lo, float(x.min()))
            self.hi = max(self.hi, float(x.max()))

    @property
    def absmax(self) -> float:
        return max(abs(self.lo), abs(self.hi), 1e-12)


class Calibration:
    """Per-site statistics of a float run on unlabelled inputs (ops that record and pass through)."""

    def __init__(self) -> None:
        self.sites: Dict[Tuple[str, str], SiteStats] = {}

    def stats(self, kind: str, site: str) -> SiteStats:
        return self.sites.setdefault((kind, site), SiteStats())

    def ops(self) -> Dict[str, Callable]:
        def act(kind):
            def f(x, site):
                st = self.stats(kind, site)
                st.add(x)
                cm = channel_absmax(x)
                st.chan_absmax = cm if st.chan_absmax is None or st.chan_absmax.shape != cm.shape else torch.maximum(st.chan_absmax, cm)
                return _EXACT[kind](x)
            return f

        def softmax(x, site, dim=-1):
            s = self.stats("softmax", site)
            finite = x.masked_fill(x < -1e8, float("nan"))
            hi = torch.nan_to_num(finite, nan=-math.inf).amax(dim=dim)
            lo = torch.nan_to_num(finite, nan=math.inf).amin(dim=dim)
            s.span = max(s.span, float((hi - lo).max()))
            s.add(torch.nan_to_num(finite, nan=0.0))
            return torch.softmax(x, dim=dim)

        def layernorm(x, gamma, beta, eps, site):
            s = self.stats("layernorm", site)
            s.add(x)
            y = torch.nn.functional.layer_norm(x, (x.shape[-1],), gamma, beta, eps)
            s.out_absmax = max(s.out_absmax, float(y.abs().max()))
            s.core_absmax = max(s.core_absmax, float((y - beta).abs().max()))
            return y

        ops = {k: act(k) for k in ACT_KINDS}
        ops["softmax"] = softmax
        ops["layernorm"] = layernorm
        return ops

    def kind_range(self, kind: str) -> Tuple[float, float]:
        st = [s for (k, _), s in self.sites.items() if k == kind]
        if not st:
            return (-4.0, 4.0)
        return (min(s.lo for s in st), max(s.hi for s in st))

    def summary(self) -> List[str]:
        out = []
        for (k, site), s in sorted(self.sites.items()):
            extra = f" span {s.span:.2f}" if k == "softmax" else (f" |out| <= {s.out_absmax:.2f}" if k == "layernorm" else "")
            out.append(f"{k:9s} {site:40s} [{s.lo:8.3f}, {s.hi:8.3f}]{extra}")
        return out


def channel_dim(x: torch.Tensor) -> int:
    return 1 if x.dim() == 4 else x.dim() - 1


def channel_absmax(x: torch.Tensor) -> torch.Tensor:
    d = channel_dim(x)
    return x.detach().abs().transpose(0, d).reshape(x.shape[d], -1).amax(dim=1)


def finest_frac(absmax: float, lo: int = 0, hi: int = 15, limit: float = 127.0) -> int:
    """The largest n in [lo, hi] with absmax * 2^n <= limit (int8 codes hold the calibrated range)."""
    if not math.isfinite(absmax) or absmax <= 0:
        return hi
    return int(max(lo, min(hi, math.floor(math.log2(limit / absmax)))))


# ---------------------------------------------------------------- tables

class TableBank:
    """The tables of one method and entry count, fitted once (cached as JSON under cache_dir)."""

    def __init__(self, method: str, entries: int, calib: Calibration, cache_dir: Optional[str], seed: int = 1):
        self.method, self.entries, self.calib, self.cache_dir, self.seed = method, entries, calib, cache_dir, seed
        self._tables: Dict[str, gqalut.TableSet] = {}
        self.notes: List[str] = []

    def _fit(self, key: str, method: str, **kw) -> gqalut.TableSet:
        path = None
        if self.cache_dir:
            os.makedirs(self.cache_dir, exist_ok=True)
            tag = "_".join(f"{k}{v}" for k, v in sorted(kw.items()) if k not in ("func", "expr"))
            tag = "".join(c if c.isalnum() or c in ".-_" else "_" for c in tag)
            path = os.path.join(self.cache_dir, f"{method}_{self.entries}_{key}_{tag}.json")
            if os.path.isfile(path):
                return gqalut.load(path)
        if method in ("ga-improved", "ga-faithful", "nnlut"):
            kw.setdefault("seed", self.seed)
        t = gqalut.fit(entries=self.entries, method=method, **kw)
        if path:
            t.save(path)
        return t

    def table(self, func: str, fmt: Optional[str] = None) -> gqalut.TableSet:
        """func's table of this bank's method; fmt: a coefficient format other than the library's
        default q1.6 (the official release has q1.6 tables only: other formats use the optimum)."""
        key = func if fmt is None else f"{func}@{fmt}"
        if key in self._tables:
            return self._tables[key]
        method = self.method if self.method in TABLE_METHODS else "optimal"
        t = None
        if self.method == "official" and fmt is not None:
            self.notes.append(f"{func}: no official {self.entries}-entry table in format {fmt}; gqalut's optimum used")
        elif self.method == "official":
            name = OFFICIAL_FILES.get((func, self.entries))
            d = official_dir()
            if name and d:
                t = gqalut.load(os.path.join(d, name))
            else:
                self.notes.append(f"{func}: no official {self.entries}-entry table; gqalut's optimum used")
        if t is None:
            if func in _FIT_SPEC:
                extra = {"format": fmt} if fmt is not None else {}
                t = self._fit(func, method, range=FIT_RANGE[func], scales=ACT_SCALES_TEXT, **extra, **_FIT_SPEC[func])
            elif func in OP_RECIPES:
                t = self._fit(func, method, **gt.recipe_fit_args(OP_RECIPES[func]))
            else:
                raise ValueError(f"no table recipe for {func}")
        self._tables[key] = t
        return t


# ---------------------------------------------------------------- sites

def lift16(table: gqalut.TableSet, n0: int, n: int) -> gqalut.TableSet:
    """The table at scale n0 (int8 inputs) as a table on int16 input codes at the finer scale n >= n0:
    the same piecewise-linear function (breakpoint codes P -> P 2^(n - n0), the same slopes and
    intercepts), so inputs are no longer rounded to 2^-n0 nor saturated at 128 codes."""
    d = json.loads(table.dumps())
    fn = [k for k in d if k != "gqalut"][0]
    src = d[fn][str(n0)]
    b = [x + 0.5 * 2.0 ** -n0 - 0.5 * 2.0 ** -n for x in src["breakpoints"]]  # half-code encoding
    d[fn] = {str(n): {"breakpoints": b, "slopes": src["slopes"], "intercepts": src["intercepts"]}}
    d.setdefault("gqalut", {})["input_bits"] = 16
    d["gqalut"].pop("errors", None)
    return gqalut.loads(json.dumps(d), f"{fn} lifted from scale {n0} to int16 codes at scale {n}")


class ActivationSite:
    """A table activation on int8 input codes: one calibrated power-of-two scale for the site
    ("tensor"), or one per channel ("channel": each channel's codes use the table at its own scale,
    the finest that holds the channel's calibrated |x| max)."""

    def __init__(self, kind: str, table: Optional[gqalut.TableSet], stats: SiteStats, mode: str = "tensor",
                 scales: Sequence[int] = tuple(range(0, 7))):
        self.kind, self.mode = kind, mode
        scales = list(table.scales) if table is not None else list(scales)
        lo, hi = min(scales), max(scales)
        self.chan_n = None
        self.mods: Dict[int, object] = {}
        self.table = table
        if mode == "int16":
            r = max(abs(v) for v in FIT_RANGE[kind])
            self.n0 = min(max(finest_frac(r, lo=lo, hi=hi, limit=128.0), lo), hi)
            if table is not None and self.n0 not in table.scales:
                self.n0 = min(table.scales, key=lambda s: abs(s - self.n0))
            self.n = finest_frac(stats.absmax * HEADROOM, lo=self.n0, hi=MAX_SCALE, limit=32768.0)
            self.t16 = lift16(table, self.n0, self.n) if table is not None else None
            self.shift = self.t16[self.n].shift if table is not None else 0
            return
        self.n = finest_frac(stats.absmax * HEADROOM, lo=lo, hi=hi, limit=128.0)
        if mode == "channel" and stats.chan_absmax is not None:
            self.chan_n = torch.tensor([finest_frac(float(v) * HEADROOM, lo=lo, hi=hi, limit=128.0)
                                        for v in stats.chan_absmax])

    def _mod(self, n: int):
        if n not in self.mods:
            self.mods[n] = gt.TableActivation(self.table, n=n, learn_scale=False)
        return self.mods[n]

    def _one(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if self.table is None:  # quant-only control: the same int8 input codes, exact function
            q = torch.clamp(torch.round(x * 2.0 ** n), -128, 127) * 2.0 ** -n
            return _EXACT[self.kind](q)
        return self._mod(n)(x.contiguous())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "int16":
            q = torch.clamp(torch.round(x * 2.0 ** self.n), -32768, 32767)
            if self.t16 is None:
                return _EXACT[self.kind](q * 2.0 ** -self.n)
            acc = self.t16.apply(q.to(torch.int16).contiguous().numpy(), self.n)
            return torch.from_numpy(acc).to(x.dtype) * 2.0 ** -self.shift
        d = channel_dim(x)
        if self.chan_n is None or x.shape[d] != len(self.chan_n):
            return self._one(x, self.n)
        xt = x.transpose(0, d)
        out = torch.empty_like(xt)
        for n in torch.unique(self.chan_n).tolist():
            sel = (self.chan_n == n).nonzero().reshape(-1)
            out[sel] = self._one(xt[sel], int(n))
        return out.transpose(0, d)


class ProductSite:
    """Hard-swish or SiLU as x . g(x) with g's table (hsigmoid / sigmoid): x's int16 code q at the
    site's calibrated scale 2^-n, the gate's table on the same codes (lifted to int16 codes, its
    integer accumulator a at 2^-s), and the integer product q a at 2^-(n + s) (64-bit here; a
    16 x 16-bit multiply after the table in hardware). The gate reads the code saturated to the
    input domain its table was fitted on, the int8 codes [-128, 127] at the table's scale n0
    (hsigmoid: [-4, 3.97], 0 / 1 beyond +-3; sigmoid: [-8, 7.94], within 3.6e-4 of 0 / 1 there):
    a table is not asked for values outside its domain (the paper's GA puts its last breakpoint at
    the range's end and returns 0 beyond it). With table None (the quantize-only control) the gate
    is exact on the same codes."""

    def __init__(self, kind: str, gate_table: Optional[gqalut.TableSet], stats: SiteStats):
        self.kind, self.gate = kind, PRODUCT_GATE[kind]
        self.site = ActivationSite(self.gate, gate_table, stats, "int16")
        self.n = self.site.n
        k = 2 ** (self.n - self.site.n0)  # int16 codes per int8 code of the gate's table
        self.gate_lo, self.gate_hi = -128 * k, 127 * k

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.site
        q = torch.clamp(torch.round(x * 2.0 ** s.n), -32768, 32767)
        if s.t16 is None:
            return (q * 2.0 ** -s.n) * _EXACT[self.gate](q * 2.0 ** -s.n)
        qg = torch.clamp(q, self.gate_lo, self.gate_hi)
        acc = s.t16.apply(qg.to(torch.int16).contiguous().numpy(), s.n).astype(np.int64)
        prod = q.to(torch.int64).numpy() * acc
        return torch.from_numpy(prod.astype(np.float64) * 2.0 ** -(s.n + s.shift)).to(x.dtype)


class SoftmaxSite:
    def __init__(self, exp_t, div_t, in_frac: int, out_frac: int = 8, control: bool = False):
        self.in_frac, self.out_frac, self.control = in_frac, out_frac, control
        self.plan = None if control else _core.prepare_softmax(exp_t._s, div_t._s, in_frac, out_frac)

    def __call__(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        xt = x.transpose(dim, -1) if dim not in (-1, x.dim() - 1) else x
        m = xt.amax(dim=-1, keepdim=True)
        xt = torch.maximum(xt, m - 512.0)  # masked logits (-1e9) -> far below the row max; e^-512 = 0 either way
        codes = torch.round(xt * 2.0 ** self.in_frac)
        if self.control:
            p = torch.softmax(codes * 2.0 ** -self.in_frac, dim=-1)
            p = torch.clamp(torch.round(p * 2.0 ** self.out_frac), 0, 255) * 2.0 ** -self.out_frac
        else:
            c = codes.to(torch.int32).contiguous()
            p = torch.from_numpy(_core.softmax_s32(self.plan, c.numpy())).to(x.dtype) * 2.0 ** -self.out_frac
        return p.transpose(dim, -1) if dim not in (-1, x.dim() - 1) else p


class LayerNormSite:
    """The library's integer LayerNorm with the input-scale policy `mode`:

    * "tensor": one calibrated power-of-two scale per site (int8 codes hold the calibrated |x| max),
    * "row": each row (token) its own power-of-two scale, the finest at which its max |x| fits int8
      (a shift chosen from the row's max: LayerNorm is invariant to the row's scale, so this only
      sets the precision; eps is rescaled to the row's scale exactly by the library),
    * "row+beta": as "row", and beta is not rounded to the output grid but added by the following
      linear layer's bias (every LayerNorm in these models feeds only linear layers; W(y + beta) =
      Wy + W beta, so folding beta into that bias is exact).
    Gamma: int8 codes at the finest scale its max fits (<= 2^-15); output: int8 at the finest
    scale the calibrated output max fits.
    """

    def __init__(self, rsqrt_t, stats: SiteStats, gamma: torch.Tensor, beta: torch.Tensor, eps: float,
                 mode: str = "row+beta", control: bool = False, backend: str = "table", bits: int = 8):
        self.mode, self.eps, self.control, self.backend = mode, float(eps), control, backend
        if bits not in (8, 16):
            raise ValueError(f"LayerNorm codes are 8 or 16 bits, got {bits}")
        if bits == 16 and backend == "ibert":
            raise ValueError("I-BERT's integer LayerNorm has int8 input and output codes (no 16-bit form)")
        # input and output codes (16 bits: gqalut.layernorm on int16 codes) in [lo, hi]
        self.bits, self.lo, self.hi = bits, -2.0 ** (bits - 1), 2.0 ** (bits - 1) - 1
        self.in_frac = finest_frac(stats.absmax, limit=self.hi)
        self.gamma_frac = finest_frac(float(gamma.abs().max()))
        # the output codes hold y (beta rounded to the output grid) or gamma * xhat (beta folded)
        self.out_frac = finest_frac((stats.core_absmax if mode == "row+beta" else stats.out_absmax) * 1.02, limit=self.hi)
        self.g_codes = torch.clamp(torch.round(gamma * 2.0 ** self.gamma_frac), -128, 127).to(torch.int8).contiguous()
        self.beta = beta
        self.b_codes = (torch.zeros_like(beta) if mode == "row+beta" else torch.round(beta * 2.0 ** self.out_frac)).to(torch.int32).contiguous()
        self.rsqrt_t = rsqrt_t
        self.plans: Dict[int, object] = {}

    def _plan(self, in_frac: int):
        if in_frac not in self.plans:
            self.plans[in_frac] = _core.prepare_layernorm(self.rsqrt_t._s, in_frac, self.out_frac, self.gamma_frac, self.eps)
        return self.plans[in_frac]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1]).contiguous()
        if self.mode == "tensor":
            fr = torch.full((rows.shape[0],), self.in_frac, dtype=torch.int64)
        else:
            m = rows.abs().amax(dim=1).clamp_min(1e-30)
            fr = torch.clamp(torch.floor(torch.log2(self.hi / m)), 0, 15).to(torch.int64)
        out = torch.empty_like(rows)
        for f in torch.unique(fr).tolist():
            sel = (fr == f).nonzero().reshape(-1)
            q = torch.clamp(torch.round(rows[sel] * 2.0 ** f), self.lo, self.hi)
            if self.control:  # quantize-only control: exact LayerNorm of the input codes
                xq = q * 2.0 ** -f
                y = torch.nn.functional.layer_norm(xq, (shape[-1],), self.g_codes.to(x.dtype) * 2.0 ** -self.gamma_frac,
                                                   None, self.eps)
                y = torch.clamp(torch.round(y * 2.0 ** self.out_frac) + self.b_codes.to(x.dtype), self.lo, self.hi)
            elif self.backend == "ibert":
                codes = _core.ibert_layernorm(q.to(torch.int8).contiguous().numpy(), self.g_codes.numpy(),
                                              self.b_codes.numpy(), int(f), self.out_frac, self.gamma_frac, self.eps)
                y = torch.from_numpy(np.asarray(codes).astype(np.float32)).to(x.dtype)
            elif self.bits == 16:
                codes = _core.layernorm_s16(self._plan(int(f)), q.to(torch.int16).contiguous().numpy(),
                                            self.g_codes.numpy(), self.b_codes.numpy())
                y = torch.from_numpy(codes).to(x.dtype)
            else:
                codes = _core.layernorm_s8(self._plan(int(f)), q.to(torch.int8).contiguous().numpy(),
                                           self.g_codes.numpy(), self.b_codes.numpy())
                y = torch.from_numpy(codes).to(x.dtype)
            out[sel] = y * 2.0 ** -self.out_frac
        if self.mode == "row+beta":
            out = out + self.beta.to(x.dtype)
        return out.reshape(shape)


# ---------------------------------------------------------------- factory

class IntOps:
    """ops for a model: {kind: callable} with every kind in `kinds` integer (others float).

    method: a table method (TABLE_METHODS), "official" (the official release's tables where one
    exists for the function and entry count, gqalut's optimum elsewhere), "ibert" (I-BERT's
    integer operations where the library has them), or "quant-only" (the same input/output
    quantization as the integer ops around the exact functions: the floor any table can reach).
    """

    def __init__(self, method: str, entries: int, calib: Calibration, kinds=ALL_KINDS, cache_dir: Optional[str] = None,
                 ln_mode: str = "row+beta", softmax_out_frac: int = 8, act_mode: str = "channel", ln_bits: int = 8):
        if method not in METHODS:
            raise ValueError(f"unknown method '{method}' (known: {', '.join(METHODS)})")
        if act_mode not in ACT_MODES:
            raise ValueError(f"unknown act_mode '{act_mode}' (known: {', '.join(ACT_MODES)})")
        self.method, self.entries, self.calib, self.kinds = method, entries, calib, tuple(kinds)
        self.ln_mode, self.softmax_out_frac, self.act_mode = ln_mode, softmax_out_frac, act_mode
        self.ln_bits = ln_bits  # LayerNorm input/output code width: 8 or 16
        self.bank = TableBank(method, entries, calib, cache_dir)
        if method == "ibert" and ln_bits != 8:
            self.bank.notes.append("I-BERT's LayerNorm has int8 codes only: its rows keep them")
        self.sites: Dict[Tuple[str, str], object] = {}
        self.refused: Dict[str, str] = {}

    def _table(self, func, fmt=None):
        return None if self.method == "quant-only" else self.bank.table(func, fmt)

    def _site(self, kind: str, site: str, *extra):
        key = (kind, site)
        if key in self.sites:
            return self.sites[key]
        st = self.calib.stats(kind, site)
        if kind in ACT_KINDS:
            if self.method == "ibert":
                s = _ibert_activation(kind, st)
            elif self.act_mode == "product" and kind in PRODUCT_GATE:
                s = ProductSite(kind, self._table(PRODUCT_GATE[kind], GATE_FORMAT), st)
            elif self.act_mode == "product":
                s = ActivationSite(kind, self._table(kind, GATE_FORMAT if kind in PRODUCT_GATE.values() else None),
                                   st, "int16", ACT_SCALES)
            else:
                s = ActivationSite(kind, self._table(kind), st, self.act_mode, ACT_SCALES)
        elif kind == "softmax":
            in_frac = finest_frac(max(st.span, 1e-3), lo=0, hi=12, limit=2.0 ** 15 - 1)
            if self.method == "ibert":
                s = _ibert_softmax(in_frac, self.softmax_out_frac)
            else:
                ctl = self.method == "quant-only"
                s = SoftmaxSite(None if ctl else self._table("exp2m1"), None if ctl else self._table("reci"),
                                in_frac, self.softmax_out_frac, control=ctl)
        elif kind == "layernorm":
            gamma, beta, eps = extra
            if self.method == "ibert":
                s = _ibert_layernorm(st, gamma, beta, eps, self.ln_mode)
            else:
                ctl = self.method == "quant-only"
                s = LayerNormSite(None if ctl else self._table("rsqrt"), st, gamma, beta, eps, self.ln_mode, control=ctl,
                                  bits=self.ln_bits)
        else:
            raise ValueError(kind)
        self.sites[key] = s
        return s

    def prepare(self) -> None:
        """Builds every site's plan now, so a refusal (a table the datapath does not accept)
        is known before the model runs: raises ValueError with the library's message."""
        for k in self.kinds:
            if k in ("softmax",):
                for (kk, site) in list(self.calib.sites):
                    if kk == k:
                        self._site(k, site)

    def ops(self) -> Dict[str, Callable]:
        out: Dict[str, Callable] = {}
        for k in self.kinds:
            if k in ACT_KINDS:
                out[k] = (lambda kind: lambda x, site: self._site(kind, site)(x))(k)
            elif k == "softmax":
                out[k] = lambda x, site, dim=-1: self._site("softmax", site)(x, dim)
            elif k == "layernorm":
                out[k] = lambda x, g, b, eps, site: self._site("layernorm", site, g, b, eps)(x)
        return out


# I-BERT (Kim et al., ICML 2021): the library's integer softmax and LayerNorm (gqalut._core.ibert_*,
# python/gqalut/ibert.py); I-BERT has no SiLU, sigmoid, tanh, hard-swish or hard-sigmoid: those stay float.
def _ibert_missing(what: str):
    raise NotImplementedError(f"I-BERT {what} is not available in this gqalut build (gqalut._core.ibert_*)")


class _KeptFloat:
    def __init__(self, kind):
        self.kind = kind

    def __call__(self, x):
        return _EXACT[self.kind](x)


def _ibert_activation(kind, st):
    return _KeptFloat(kind)


class IBertSoftmaxSite:
    def __init__(self, in_frac: int, out_frac: int):
        if not hasattr(_core, "ibert_softmax"):
            _ibert_missing("softmax")
        self.in_frac, self.out_frac = max(1, min(20, in_frac)), out_frac

    def __call__(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        xt = x.transpose(dim, -1) if dim not in (-1, x.dim() - 1) else x
        m = xt.amax(dim=-1, keepdim=True)
        xt = torch.maximum(xt, m - 512.0)
        shape = xt.shape
        q = torch.round(xt * 2.0 ** self.in_frac).to(torch.int32).reshape(-1, shape[-1]).contiguous()
        out = _core.ibert_softmax(q.numpy(), self.in_frac, self.out_frac, -1)
        p = torch.from_numpy(np.asarray(out).astype(np.float32)).reshape(shape).to(x.dtype) * 2.0 ** -self.out_frac
        return p.transpose(dim, -1) if dim not in (-1, x.dim() - 1) else p


def _ibert_softmax(in_frac, out_frac):
    return IBertSoftmaxSite(in_frac, out_frac)


def _ibert_layernorm(st, gamma, beta, eps, mode):
    if not hasattr(_core, "ibert_layernorm"):
        _ibert_missing("layernorm")
    return LayerNormSite(None, st, gamma, beta, eps, mode, backend="ibert")
