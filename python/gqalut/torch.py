"""gqalut.torch: PyTorch modules whose forward is gqalut's integer datapath.

* :class:`TableActivation` (and :class:`GELU`, :class:`Hardswish`, :class:`SiLU`,
  :class:`Sigmoid`, :class:`Tanh`, :class:`Exp`): x -> q = clamp(round(x * 2^n), -128, 127)
  -> the table's integer datapath at scale n -> acc * 2^-L, bit-exact with the
  evaluator (``gqalut::eval_acc``) on every code. The input scale 2^-n is a learnable
  power of two (LSQ style: a float log2-scale rounded straight-through, as the paper
  trains); the backward pass is the straight-through estimator: dy/dx = the slope of
  the code's segment inside the clamp range, 0 outside; d/d(log2 scale) as LSQ.
* :class:`IntSoftmax`, :class:`IntLayerNorm`: the library's integer softmax and
  LayerNorm (bit-exact with ``gqalut.softmax`` / ``gqalut.layernorm``); backward is the
  float op's gradient at the quantized input (straight through the quantizers).
* :func:`convert`: replaces nn.GELU, nn.Hardswish, nn.SiLU, nn.Sigmoid, nn.Tanh,
  nn.LayerNorm and nn.Softmax in any module and reports what it replaced.

CPU tensors of any shape, float32 and float64, under autograd. Rounding to codes
is half to even (torch.round); NaN inputs give NaN outputs.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

import gqalut
from gqalut import _core

__all__ = ["TableActivation", "GELU", "Hardswish", "SiLU", "Sigmoid", "Tanh", "Exp", "IntSoftmax",
           "IntLayerNorm", "convert", "default_table", "Replacement"]

_TABLE_CACHE: Dict[Tuple, gqalut.TableSet] = {}


def default_table(func: str, entries: int = 8, method: str = "optimal", **fit_kwargs) -> gqalut.TableSet:
    """The table set :func:`convert` and the named modules use for `func` (fitted once per
    process with gqalut.fit(func, entries=..., method=..., **fit_kwargs) and cached)."""
    key = (func, entries, method, tuple(sorted((k, str(v)) for k, v in fit_kwargs.items())))
    if key not in _TABLE_CACHE:
        _TABLE_CACHE[key] = gqalut.fit(func, entries=entries, method=method, **fit_kwargs)
    return _TABLE_CACHE[key]


def _check_tensor(x: torch.Tensor, name: str = "input") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.device.type != "cpu":
        raise ValueError(f"{name} must be a CPU tensor, got device {x.device}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")


# ---------------------------------------------------------------- table activations

class _TableSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, log2_scale, lut, slope, n, grad_scale):
        xc = x.detach().contiguous()
        y = torch.empty_like(xc)
        codes = torch.empty(xc.shape, dtype=torch.int8)
        xn, yn = xc.numpy(), y.numpy()
        if xc.dtype == torch.float32:
            _core.quantize_lookup_f32(xn.reshape(-1), n, lut.numpy(), yn.reshape(-1), codes.numpy().reshape(-1))
        else:
            _core.quantize_lookup_f64(xn.reshape(-1), n, lut.numpy(), yn.reshape(-1), codes.numpy().reshape(-1))
        ctx.save_for_backward(xc, codes, slope)
        ctx.n = n
        ctx.grad_scale = grad_scale
        return y

    @staticmethod
    def backward(ctx, g):
        x, codes, slope = ctx.saved_tensors
        n = ctx.n
        v = x * (2.0 ** n)
        inside = (v >= -128) & (v <= 127)
        k = slope[codes.long() + 128]                      # dy/dx-hat: the segment's slope
        gk = g * k
        grad_x = gk * inside if ctx.needs_input_grad[0] else None
        grad_t = None
        if ctx.needs_input_grad[1]:
            # x-hat = s * q(x/s), s = 2^t: d x-hat / ds = q - x/s inside, the clamp bound outside (LSQ);
            # ds/dt = s ln 2 (straight through the rounding of t).
            q = codes.to(x.dtype)
            dxhat_ds = torch.where(inside, q - v, q)
            s = 2.0 ** -n
            grad_t = (gk * dxhat_ds).sum() * (s * math.log(2.0)) * ctx.grad_scale
            grad_t = grad_t.reshape(())
        return grad_x, grad_t, None, None, None, None


class TableActivation(nn.Module):
    """An element-wise table activation with a learnable power-of-two input scale.

    table: a :class:`gqalut.TableSet`, or a built-in function name (fitted with
    :func:`default_table`: ``method`` and ``entries`` apply). n: the initial input scale
    (x = q * 2^-n); default: the finest scale whose int8 codes [-128, 127] * 2^-n span the table's
    range. learn_scale: make the log2 scale a parameter (trained LSQ-style).

    forward(x): y = T_n(clamp(round(x * 2^n), -128, 127)) with T_n the table at scale n
    (the nearest scale the set holds to the rounded learned one), exactly as the
    evaluator computes it.
    """

    def __init__(self, table: Union[gqalut.TableSet, str], n: Optional[int] = None, learn_scale: bool = True,
                 method: str = "optimal", entries: int = 8):
        super().__init__()
        if isinstance(table, str):
            table = default_table(table, entries=entries, method=method)
        if not isinstance(table, gqalut.TableSet):
            raise TypeError(f"table must be a gqalut.TableSet or a function name, got {type(table).__name__}")
        self.table = table
        self.scales: List[int] = table.scales
        luts, slopes = [], []
        codes = np.arange(-128, 128, dtype=np.int8)
        for s in self.scales:
            t = table[s]
            luts.append(table.lut(s))
            seg = [t._t.segment_of(int(q)) for q in codes]
            kval = np.array([t.slopes[i] for i in seg], dtype=np.float64) * 2.0 ** -t._t.slope_frac_bits
            slopes.append(kval)
        self.register_buffer("lut64", torch.tensor(np.stack(luts)), persistent=False)
        self.register_buffer("slope64", torch.tensor(np.stack(slopes)), persistent=False)
        self.register_buffer("lut32", self.lut64.float(), persistent=False)
        self.register_buffer("slope32", self.slope64.float(), persistent=False)
        if n is None:
            lo, hi = table.range if table.range[0] < table.range[1] else (-4.0, 4.0)
            reach = max(abs(lo), abs(hi))
            fitting = [s for s in self.scales if 128 * 2.0 ** -s >= reach or s == self.scales[0]]
            n = max(fitting)
        if int(n) not in self.scales:
            raise ValueError(f"table has no scale n = {n} (has {self.scales})")
        init = torch.tensor(-float(n), dtype=torch.float64)
        if learn_scale:
            self.log2_scale = nn.Parameter(init)
        else:
            self.register_buffer("log2_scale", init)

    @property
    def n(self) -> int:
        """The input scale used now: -round(log2_scale), snapped to the nearest scale the set holds."""
        want = -int(torch.round(self.log2_scale.detach()).item())
        return min(self.scales, key=lambda s: (abs(s - want), s))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x)
        n = self.n
        i = self.scales.index(n)
        if x.dtype == torch.float32:
            lut, slope = self.lut32[i], self.slope32[i]
        else:
            lut, slope = self.lut64[i], self.slope64[i]
        grad_scale = 1.0 / math.sqrt(max(1, x.numel()) * 127.0)
        return _TableSTE.apply(x, self.log2_scale, lut, slope.to(x.dtype), n, grad_scale)

    def extra_repr(self) -> str:
        return f"function={self.table.function!r}, entries={self.table.entries}, method={self.table.method!r}, n={self.n}"


def _named(func: str, doc: str):
    class Named(TableActivation):
        def __init__(self, table: Optional[gqalut.TableSet] = None, n: Optional[int] = None, learn_scale: bool = True,
                     method: str = "optimal", entries: int = 8):
            super().__init__(table if table is not None else func, n=n, learn_scale=learn_scale, method=method,
                             entries=entries)
    Named.__doc__ = doc + " (a :class:`TableActivation` on the built-in table of %r)." % func
    return Named


GELU = _named("gelu", "Integer GELU")
GELU.__name__ = GELU.__qualname__ = "GELU"
Hardswish = _named("hswish", "Integer Hardswish")
Hardswish.__name__ = Hardswish.__qualname__ = "Hardswish"
SiLU = _named("silu", "Integer SiLU")
SiLU.__name__ = SiLU.__qualname__ = "SiLU"
Sigmoid = _named("sigmoid", "Integer sigmoid")
Sigmoid.__name__ = Sigmoid.__qualname__ = "Sigmoid"
Tanh = _named("tanh", "Integer tanh")
Tanh.__name__ = Tanh.__qualname__ = "Tanh"
Exp = _named("exp", "Integer exp on its table's range (inputs <= 0)")
Exp.__name__ = Exp.__qualname__ = "Exp"


# ---------------------------------------------------------------- softmax / LayerNorm

def _round_codes(x: torch.Tensor, frac: int, lo: float, hi: float) -> torch.Tensor:
    return torch.clamp(torch.round(x * (2.0 ** frac)), lo, hi)


def _default_softmax_tables() -> Tuple[gqalut.TableSet, gqalut.TableSet]:
    names = gqalut.functions()
    if "exp2m1" in names:  # the EXP stage of the current datapath (docs/intops.md)
        exp_t = default_table("exp2m1", entries=8, method="optimal", format="auto", scales=[8])
    else:
        exp_t = default_table("exp", entries=8, method="optimal")
    div_t = default_table("reci", entries=8, method="optimal", format="auto", scales=[5])
    return exp_t, div_t


class _SoftmaxFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim, plan, in_frac, out_frac):
        xt = x.detach().transpose(dim, -1).contiguous()
        codes = _round_codes(xt, in_frac, -2.0 ** 31, 2.0 ** 31 - 1).to(torch.int32)
        p = torch.from_numpy(_core.softmax_s32(plan, codes.numpy())).to(x.dtype) * (2.0 ** -out_frac)
        xq = codes.to(x.dtype) * (2.0 ** -in_frac)
        ctx.save_for_backward(xq)
        ctx.dim = dim
        return p.transpose(dim, -1).contiguous()

    @staticmethod
    def backward(ctx, g):
        (xq,) = ctx.saved_tensors
        pf = torch.softmax(xq, dim=-1)
        gt = g.transpose(ctx.dim, -1)
        grad = pf * (gt - (gt * pf).sum(dim=-1, keepdim=True))
        return grad.transpose(ctx.dim, -1), None, None, None, None


class IntSoftmax(nn.Module):
    """The library's integer softmax along `dim`.

    The input is rounded to int32 codes at 2^-in_frac (no saturation); the output is
    the datapath's uint8 probability codes times 2^-out_frac. exp_table/div_table:
    the EXP-stage and reciprocal table sets (default: fitted once, see
    docs/python.md). Backward: the float softmax gradient at the quantized input.
    """

    def __init__(self, dim: int = -1, in_frac: int = 4, out_frac: int = 8,
                 exp_table: Optional[gqalut.TableSet] = None, div_table: Optional[gqalut.TableSet] = None):
        super().__init__()
        if dim is None:
            raise ValueError("IntSoftmax needs an explicit dim (nn.Softmax(dim=None) is deprecated)")
        if exp_table is None or div_table is None:
            de, dd = _default_softmax_tables()
            exp_table = exp_table or de
            div_table = div_table or dd
        self.dim, self.in_frac, self.out_frac = int(dim), int(in_frac), int(out_frac)
        self.exp_table, self.div_table = exp_table, div_table
        self.plan = _core.prepare_softmax(exp_table._s, div_table._s, self.in_frac, self.out_frac)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x)
        return _SoftmaxFn.apply(x, self.dim % x.dim(), self.plan, self.in_frac, self.out_frac)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, in_frac={self.in_frac}, out_frac={self.out_frac}"


class _LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, module, in_frac):
        m = module
        xc = x.detach().contiguous()
        xq_codes = _round_codes(xc, in_frac, -128, 127).to(torch.int8)
        w = weight.detach() if weight is not None else torch.ones(m.size, dtype=x.dtype)
        b = bias.detach() if bias is not None else torch.zeros(m.size, dtype=x.dtype)
        g_codes = _round_codes(w, m.gamma_frac, -128, 127).to(torch.int8)
        b_codes = _round_codes(b, m.out_frac, -2.0 ** 31, 2.0 ** 31 - 1).to(torch.int32)
        plan = m._plan(in_frac)
        out = _core.layernorm_s8(plan, xq_codes.numpy(), g_codes.numpy(), b_codes.numpy())
        y = torch.from_numpy(out).to(x.dtype) * (2.0 ** -m.out_frac)
        ctx.save_for_backward(xq_codes.to(x.dtype) * (2.0 ** -in_frac), g_codes.to(x.dtype) * (2.0 ** -m.gamma_frac),
                              b_codes.to(x.dtype) * (2.0 ** -m.out_frac))
        ctx.has_w, ctx.has_b, ctx.eps, ctx.size = weight is not None, bias is not None, m.eps, m.size
        return y

    @staticmethod
    def backward(ctx, g):
        xq, wq, bq = ctx.saved_tensors
        with torch.enable_grad():
            xr = xq.detach().requires_grad_(True)
            wr = wq.detach().requires_grad_(ctx.has_w)
            br = bq.detach().requires_grad_(ctx.has_b)
            y = torch.nn.functional.layer_norm(xr, (ctx.size,), wr, br, ctx.eps)
            inputs = [xr] + ([wr] if ctx.has_w else []) + ([br] if ctx.has_b else [])
            grads = list(torch.autograd.grad(y, inputs, g))
        gx = grads.pop(0)
        gw = grads.pop(0) if ctx.has_w else None
        gb = grads.pop(0) if ctx.has_b else None
        return gx, gw, gb, None, None


class IntLayerNorm(nn.Module):
    """The library's integer LayerNorm over the last axis (size `normalized_shape`).

    Input codes: int8 at 2^-in_frac; in_frac="auto" picks, per call, the largest
    in_frac in [0, 15] at which max|x| still fits int8 (LayerNorm is scale-invariant, so
    this only sets the precision). weight -> int8 codes at 2^-gamma_frac, bias -> int32
    codes at 2^-out_frac; output int8 codes at 2^-out_frac. rsqrt_table: the RSQRT set
    (default: fitted once). Backward: the float LayerNorm gradient at the quantized
    input, weight and bias.
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5, elementwise_affine: bool = True,
                 in_frac: Union[int, str] = "auto", out_frac: int = 4, gamma_frac: int = 6,
                 rsqrt_table: Optional[gqalut.TableSet] = None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if len(shape) != 1:
            raise ValueError(f"IntLayerNorm normalizes the last axis only; normalized_shape must have one entry, got {shape}")
        self.size = int(shape[0])
        self.eps = float(eps)
        if in_frac != "auto" and (isinstance(in_frac, bool) or not isinstance(in_frac, int)):
            raise TypeError(f"in_frac must be an int or 'auto', got {in_frac!r}")
        self.in_frac, self.out_frac, self.gamma_frac = in_frac, int(out_frac), int(gamma_frac)
        self.rsqrt_table = rsqrt_table or default_table("rsqrt", entries=8, method="optimal", scales="0:5")
        self._plans: Dict[int, object] = {}
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.size))
            self.bias = nn.Parameter(torch.zeros(self.size))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _plan(self, in_frac: int):
        if in_frac not in self._plans:
            self._plans[in_frac] = _core.prepare_layernorm(self.rsqrt_table._s, in_frac, self.out_frac,
                                                           self.gamma_frac, self.eps)
        return self._plans[in_frac]

    def input_frac(self, x: torch.Tensor) -> int:
        if self.in_frac != "auto":
            return int(self.in_frac)
        m = float(x.detach().abs().max()) if x.numel() else 0.0
        if not math.isfinite(m) or m == 0:
            return 15
        return int(max(0, min(15, math.floor(math.log2(127.0 / m)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x)
        if x.shape[-1] != self.size:
            raise ValueError(f"IntLayerNorm of size {self.size} got a last axis of {x.shape[-1]}")
        return _LayerNormFn.apply(x, self.weight, self.bias, self, self.input_frac(x))

    def extra_repr(self) -> str:
        return f"{self.size}, eps={self.eps}, in_frac={self.in_frac}, out_frac={self.out_frac}, gamma_frac={self.gamma_frac}"


# ---------------------------------------------------------------- convert

class Replacement(tuple):
    """(name, old, new): the dotted module name and the classes before and after."""

    __slots__ = ()

    def __new__(cls, name: str, old: str, new: str):
        return super().__new__(cls, (name, old, new))

    name = property(lambda self: self[0])
    old = property(lambda self: self[1])
    new = property(lambda self: self[2])

    def __repr__(self) -> str:
        return f"{self.name or '<root>'}: {self.old} -> {self.new}"


_ACTIVATIONS = {nn.GELU: "gelu", nn.Hardswish: "hswish", nn.SiLU: "silu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}


def convert(model: nn.Module, tables: Optional[Dict[str, gqalut.TableSet]] = None, method: str = "optimal",
            entries: int = 8, activations: bool = True, softmax: bool = True, layernorm: bool = True,
            softmax_in_frac: int = 4, layernorm_out_frac: int = 4) -> List[Replacement]:
    """Replaces, in place, nn.GELU, nn.Hardswish, nn.SiLU, nn.Sigmoid, nn.Tanh (-> TableActivation),
    nn.Softmax (-> IntSoftmax) and nn.LayerNorm (-> IntLayerNorm, weights copied) anywhere in `model`.

    tables: function name ("gelu", "hswish", "silu", "sigmoid", "tanh", "rsqrt") -> TableSet
    to use instead of the default ones (fitted with `method` and `entries`).
    Returns the list of replacements (name, old class, new class); modules it cannot
    convert (a LayerNorm over several axes) are left and reported with new = "kept: reason".
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tables = dict(tables or {})
    for k, v in tables.items():
        if not isinstance(v, gqalut.TableSet):
            raise TypeError(f"tables[{k!r}] must be a gqalut.TableSet, got {type(v).__name__}")
    report: List[Replacement] = []

    def table_for(func: str) -> gqalut.TableSet:
        return tables.get(func) or default_table(func, entries=entries, method=method)

    def replace(parent: nn.Module, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            full = f"{prefix}.{name}" if prefix else name
            new: Optional[nn.Module] = None
            if activations and type(child) in _ACTIVATIONS:
                new = TableActivation(table_for(_ACTIVATIONS[type(child)]))
            elif softmax and type(child) is nn.Softmax:
                new = IntSoftmax(dim=child.dim if child.dim is not None else -1, in_frac=softmax_in_frac)
            elif layernorm and type(child) is nn.LayerNorm:
                if len(child.normalized_shape) != 1:
                    report.append(Replacement(full, "LayerNorm", "kept: normalizes several axes"))
                else:
                    new = IntLayerNorm(child.normalized_shape[0], eps=child.eps,
                                       elementwise_affine=child.elementwise_affine, out_frac=layernorm_out_frac,
                                       rsqrt_table=tables.get("rsqrt"))
                    if child.elementwise_affine:
                        with torch.no_grad():
                            new.weight.copy_(child.weight)
                            new.bias.copy_(child.bias)
            if new is not None:
                setattr(parent, name, new)
                report.append(Replacement(full, type(child).__name__, type(new).__name__))
            else:
                replace(child, full)

    replace(model, "")
    return report
