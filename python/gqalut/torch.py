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

CPU tensors of any shape (0-d too), float32 and float64, under autograd. Rounding to
codes is half to even (torch.round). Non-finite inputs: a table activation gives NaN for
NaN and saturates +-inf to the end codes; IntSoftmax gives a NaN row for a row holding a
NaN and saturates +-inf logits to the end int32 codes (-inf: probability 0, as for
attention masks); IntLayerNorm gives a NaN row for a row holding a NaN or an infinity (as
the float LayerNorm). Every module checks its arguments when made (one-line TypeError /
ValueError) and survives copy.deepcopy, pickle and torch.save (plans are rebuilt on load).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

import gqalut
from gqalut import _core

__all__ = ["TableActivation", "GELU", "Hardswish", "SiLU", "Sigmoid", "Tanh", "Exp", "IntSoftmax",
           "IntLayerNorm", "convert", "default_table", "recipe_table", "recipe_fit_args", "Replacement"]

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
        if n is not None:
            n = gqalut._scale_n(n, "n", table.scales)
        if not isinstance(learn_scale, bool):
            raise TypeError(f"learn_scale must be True or False, got {type(learn_scale).__name__}")
        self.table = table
        self.scales: List[int] = table.scales
        luts, slopes = [], []
        codes = np.arange(-128, 128, dtype=np.int8)
        for s in self.scales:
            t = table[s]
            luts.append(table.lut(s))
            seg = [t._t.segment_of(int(q)) for q in codes]
            kval = np.array([t.slopes[i] for i in seg], dtype=np.float64) * 2.0 ** -t._t.slope_frac_bits
            # Codes outside the table's input width saturate (gqalut's rule): constant output, slope 0.
            lo, hi = -(1 << (t.input_bits - 1)), (1 << (t.input_bits - 1)) - 1
            kval[(codes < lo) | (codes > hi)] = 0.0
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


def _named(name: str, func: str, doc: str):
    """The TableActivation subclass `name` (module gqalut.torch) on the built-in table of `func`."""
    class Named(TableActivation):
        def __init__(self, table: Optional[gqalut.TableSet] = None, n: Optional[int] = None, learn_scale: bool = True,
                     method: str = "optimal", entries: int = 8):
            super().__init__(table if table is not None else func, n=n, learn_scale=learn_scale, method=method,
                             entries=entries)
    Named.__doc__ = doc + " (a :class:`TableActivation` on the built-in table of %r)." % func
    Named.__name__ = Named.__qualname__ = name
    return Named


GELU = _named("GELU", "gelu", "Integer GELU")
Hardswish = _named("Hardswish", "hswish", "Integer Hardswish")
SiLU = _named("SiLU", "silu", "Integer SiLU")
Sigmoid = _named("Sigmoid", "sigmoid", "Integer sigmoid")
Tanh = _named("Tanh", "tanh", "Integer tanh")
Exp = _named("Exp", "exp", "Integer exp on its table's range (inputs <= 0)")


# ---------------------------------------------------------------- softmax / LayerNorm

def _round_codes(x: torch.Tensor, frac: int, lo: float, hi: float) -> torch.Tensor:
    return torch.clamp(torch.round(x * (2.0 ** frac)), lo, hi)


def recipe_fit_args(recipe: str) -> Dict[str, Any]:
    """The :func:`gqalut.fit` arguments of an operation's table recipe (``gqalut._core.table_recipes()``,
    the C++ include/gqalut/recipes.hpp: "exp2m1", "div", "rsqrt", ...): func, range, scales,
    slope_format, intercept_format. Add entries, method (and a seed) to fit it."""
    recipes = {r["name"]: r for r in gqalut._core.table_recipes()}
    if recipe not in recipes:
        raise ValueError(f"unknown table recipe {recipe!r} (known: {', '.join(recipes)})")
    r = recipes[recipe]
    return dict(func=r["function"], range=r["range"], scales=r["scales"], slope_format=r["slope_format"],
                intercept_format=r["intercept_format"])


def recipe_table(recipe: str, entries: int = 8, method: str = "optimal") -> gqalut.TableSet:
    """The table set of an operation's recipe (see :func:`recipe_fit_args`), fitted once with `method`."""
    args = recipe_fit_args(recipe)
    return default_table(args.pop("func"), entries=entries, method=method, **args)


def _default_softmax_tables() -> Tuple[gqalut.TableSet, gqalut.TableSet]:
    return recipe_table("exp2m1"), recipe_table("div")  # the EXP2M1 and DIV stages (docs/intops.md)


def _int32_codes(x: torch.Tensor, frac: int) -> torch.Tensor:
    """round(x * 2^frac) saturated to int32, +-inf to the ends, NaN to 0 (its row is NaN'd by the
    caller). In float64: float32 cannot hold 2^31 - 1 (it rounds to 2^31, which wraps to INT32_MIN)."""
    v = torch.round(x.double() * (2.0 ** frac))
    v = torch.nan_to_num(v, nan=0.0, posinf=2.0 ** 31 - 1, neginf=-2.0 ** 31)
    return torch.clamp(v, -2.0 ** 31, 2.0 ** 31 - 1).to(torch.int32)


def _nan_rows(y: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
    """y with every row (last axis) where `bad` holds set to NaN."""
    rows = bad.any(dim=-1, keepdim=True)
    return y.masked_fill(rows, float("nan")) if bool(rows.any()) else y


class _IntSoftmaxFnBase(torch.autograd.Function):
    """An integer softmax's autograd function (forward(ctx, x, dim, 3 settings) in subclasses,
    which end with :meth:`_finish`); backward: the float softmax's gradient at the quantized input."""

    @staticmethod
    def _finish(ctx, p: torch.Tensor, codes: torch.Tensor, in_frac: int, dim: int, dtype) -> torch.Tensor:
        """Saves the input codes (at 2^-in_frac) for backward; p, rows on the last axis, back to `dim`."""
        ctx.save_for_backward(codes.to(dtype) * (2.0 ** -in_frac))
        ctx.dim = dim
        return p.transpose(dim, -1).contiguous()

    @staticmethod
    def backward(ctx, g):
        (xq,) = ctx.saved_tensors
        pf = torch.softmax(xq, dim=-1)
        gt = g.transpose(ctx.dim, -1)
        grad = pf * (gt - (gt * pf).sum(dim=-1, keepdim=True))
        return grad.transpose(ctx.dim, -1), None, None, None, None


class _SoftmaxFn(_IntSoftmaxFnBase):
    @staticmethod
    def forward(ctx, x, dim, plan, in_frac, out_frac):
        xt = x.detach().transpose(dim, -1).contiguous()
        codes = _int32_codes(xt, in_frac)
        p = torch.from_numpy(_core.softmax_s32(plan, codes.numpy())).to(x.dtype) * (2.0 ** -out_frac)
        p = _nan_rows(p, torch.isnan(xt))
        return _IntSoftmaxFnBase._finish(ctx, p, codes, in_frac, dim, x.dtype)


class IntSoftmax(nn.Module):
    """The library's integer softmax along `dim`.

    The input is rounded to int32 codes at 2^-in_frac, saturated to [-2^31, 2^31 - 1]
    (+-inf: the ends; a row holding a NaN gives a NaN row); the output is the datapath's
    uint8 probability codes times 2^-out_frac. dim: an int, checked against each input's
    dimensions as torch does (IndexError); a 0-d input is a one-element row. in_frac in
    [0, 20], out_frac in [1, 15]. exp_table/div_table: the EXP-stage and reciprocal table
    sets (default: fitted once, see docs/python.md). Backward: the float softmax gradient
    at the quantized input.
    """

    def __init__(self, dim: int = -1, in_frac: int = 4, out_frac: int = 8,
                 exp_table: Optional[gqalut.TableSet] = None, div_table: Optional[gqalut.TableSet] = None):
        super().__init__()
        if dim is None:
            raise ValueError("IntSoftmax needs an explicit dim (nn.Softmax(dim=None) is deprecated)")
        self.dim = gqalut._int(dim, "dim")
        self.in_frac = gqalut._frac(in_frac, "in_frac", gqalut._SOFTMAX_IN_FRAC)
        self.out_frac = gqalut._frac(out_frac, "out_frac", gqalut._SOFTMAX_OUT_FRAC)
        for name, t in (("exp_table", exp_table), ("div_table", div_table)):
            if t is not None and not isinstance(t, gqalut.TableSet):
                raise TypeError(f"{name} must be a gqalut.TableSet, got {type(t).__name__}")
        if exp_table is None or div_table is None:
            de, dd = _default_softmax_tables()
            exp_table = exp_table or de
            div_table = div_table or dd
        self.exp_table, self.div_table = exp_table, div_table
        self._make_plan()

    def _make_plan(self) -> None:
        self.plan = _core.prepare_softmax(self.exp_table._s, self.div_table._s, self.in_frac, self.out_frac)

    # pickle / deepcopy / torch.save: the plan (a C++ object) is rebuilt from the tables.
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("plan", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._make_plan()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x)
        rank = max(1, x.dim())  # a 0-d input is one element of a one-element row
        if not -rank <= self.dim < rank:
            raise IndexError(f"IntSoftmax dim must be in [{-rank}, {rank - 1}] for a {x.dim()}-D input, got {self.dim}")
        if x.dim() == 0:
            return _SoftmaxFn.apply(x.reshape(1), 0, self.plan, self.in_frac, self.out_frac).reshape(())
        return _SoftmaxFn.apply(x, self.dim % x.dim(), self.plan, self.in_frac, self.out_frac)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, in_frac={self.in_frac}, out_frac={self.out_frac}"


def _layernorm_affine(m: nn.Module, elementwise_affine: bool) -> None:
    """m.weight (ones) and m.bias (zeros) of m.size elements, as nn.LayerNorm makes them, or None."""
    if elementwise_affine:
        m.weight = nn.Parameter(torch.ones(m.size))
        m.bias = nn.Parameter(torch.zeros(m.size))
    else:
        m.register_parameter("weight", None)
        m.register_parameter("bias", None)


class _IntLayerNormFnBase(torch.autograd.Function):
    """An integer LayerNorm's autograd function (forward(ctx, x, weight, bias, settings...) in
    subclasses, which call :meth:`_save`); backward: the float LayerNorm's gradient at the
    quantized x, gamma and beta (gamma and beta only where the module has them)."""

    @staticmethod
    def _save(ctx, x, weight, bias, codes, fracs, eps: float, size: int, n_inputs: int) -> None:
        """codes: the x, gamma and beta codes; fracs: their scales' exponents; n_inputs: forward's inputs."""
        ctx.save_for_backward(*[c.to(x.dtype) * (2.0 ** -f) for c, f in zip(codes, fracs)])
        ctx.has_w, ctx.has_b, ctx.eps, ctx.size = weight is not None, bias is not None, eps, size
        ctx.n_settings = n_inputs - 3

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
        return (gx, gw, gb) + (None,) * ctx.n_settings


class _LayerNormFn(_IntLayerNormFnBase):
    @staticmethod
    def forward(ctx, x, weight, bias, module, in_frac, gamma_frac, g_codes, b_codes):
        m = module
        xc = x.detach().contiguous()
        bad = ~torch.isfinite(xc)
        xq_codes = _round_codes(xc.masked_fill(bad, 0.0), in_frac, -128, 127).to(torch.int8)
        plan = m._plan(in_frac, gamma_frac)
        out = _core.layernorm_s8(plan, xq_codes.numpy(), g_codes.numpy(), b_codes.numpy())
        y = _nan_rows(torch.from_numpy(out).to(x.dtype) * (2.0 ** -m.out_frac), bad)
        _IntLayerNormFnBase._save(ctx, x, weight, bias, (xq_codes, g_codes, b_codes), (in_frac, gamma_frac, m.out_frac),
                                  m.eps, m.size, n_inputs=8)
        return y


class IntLayerNorm(nn.Module):
    """The library's integer LayerNorm over the last axis (size `normalized_shape`).

    Input codes: int8 at 2^-in_frac; in_frac="auto" picks, per call, the largest
    in_frac in [0, 15] at which max|x| (over the finite values) still fits int8 (LayerNorm is
    scale-invariant, so this only sets the precision). weight -> int8 codes at
    2^-gamma_frac; gamma_frac="auto" (the default) picks, per call, the largest gamma_frac in
    [0, 15] at which every weight rounds into [-128, 127] (6, as before, for weights in
    [-1.98, 1.98] above 0.99 in magnitude; finer for smaller ones, coarser for larger ones);
    a weight that fits no gamma_frac (|w| > 127.5), or does not fit a given gamma_frac, is
    refused (ValueError), never saturated. bias -> int32 codes at 2^-out_frac (refused when
    it does not fit); output int8 codes at 2^-out_frac (saturated: the datapath's output
    range). A row holding a NaN or an infinity gives a NaN row. rsqrt_table: the RSQRT set
    (default: fitted once). Backward: the float LayerNorm gradient at the quantized input,
    weight and bias.
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5, elementwise_affine: bool = True,
                 in_frac: Union[int, str] = "auto", out_frac: int = 4, gamma_frac: Union[int, str] = "auto",
                 rsqrt_table: Optional[gqalut.TableSet] = None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
            shape: Tuple = (normalized_shape,)
        elif isinstance(normalized_shape, (tuple, list, torch.Size)):
            shape = tuple(normalized_shape)
        else:
            raise TypeError(f"normalized_shape must be an int or a sequence of ints, got {type(normalized_shape).__name__}")
        if len(shape) != 1:
            raise ValueError(f"IntLayerNorm normalizes the last axis only; normalized_shape must have one entry, got {shape}")
        self.size = gqalut._int(shape[0], "normalized_shape", 1, 2 ** 31 - 1)
        self.eps = gqalut._real(eps, "eps")
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        if not isinstance(elementwise_affine, bool):
            raise TypeError(f"elementwise_affine must be True or False, got {type(elementwise_affine).__name__}")

        def frac_or_auto(v, name):
            return "auto" if isinstance(v, str) and v == "auto" else \
                gqalut._int(v, name, *gqalut._LAYERNORM_FRAC, rule="[0, 15] or 'auto'")

        self.in_frac = frac_or_auto(in_frac, "in_frac")
        self.gamma_frac = frac_or_auto(gamma_frac, "gamma_frac")
        self.out_frac = gqalut._frac(out_frac, "out_frac", gqalut._LAYERNORM_FRAC)
        if rsqrt_table is not None and not isinstance(rsqrt_table, gqalut.TableSet):
            raise TypeError(f"rsqrt_table must be a gqalut.TableSet, got {type(rsqrt_table).__name__}")
        self.rsqrt_table = rsqrt_table or recipe_table("rsqrt")
        self._plans: Dict[Tuple[int, int], object] = {}
        _layernorm_affine(self, elementwise_affine)

    def _plan(self, in_frac: int, gamma_frac: int):
        key = (in_frac, gamma_frac)
        if key not in self._plans:
            self._plans[key] = _core.prepare_layernorm(self.rsqrt_table._s, in_frac, self.out_frac, gamma_frac, self.eps)
        return self._plans[key]

    # pickle / deepcopy / torch.save: the plans (C++ objects) are rebuilt when next needed.
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = {}
        return state

    def weight_codes(self, weight: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, int]:
        """The int8 gamma codes of the weight and their gamma_frac (see the class doc)."""
        w = (self.weight if weight is None else weight)
        w = torch.ones(self.size, dtype=torch.float64) if w is None else w.detach().double()
        if not bool(torch.isfinite(w).all()):
            raise ValueError("IntLayerNorm weight must be finite, got a NaN or an infinity")
        m = float(w.abs().max()) if w.numel() else 0.0

        def fits(gf: int) -> bool:
            c = torch.round(w * 2.0 ** gf)
            return bool(((c >= -128) & (c <= 127)).all())

        if self.gamma_frac == "auto":
            # The largest gamma_frac in [0, 15] that fits: at most log2(128.5 / max|w|).
            gf = 15 if m == 0 else min(15, math.floor(math.log2(128.5 / m)))
            while gf >= 0 and not fits(gf):
                gf -= 1
            if gf < 0:
                raise ValueError(f"IntLayerNorm weight must fit int8 codes at 2^-gamma_frac for a gamma_frac in "
                                 f"[0, 15] (weights in [-128, 127]), got max |weight| = {m:.6g}")
        else:
            gf = self.gamma_frac
            if not fits(gf):
                raise ValueError(f"IntLayerNorm weight must fit int8 codes at 2^-{gf} (gamma_frac {gf}: weights in "
                                 f"[{-128 * 2.0 ** -gf:.6g}, {127 * 2.0 ** -gf:.6g}]), got max |weight| = {m:.6g}; "
                                 f"use gamma_frac='auto' or a smaller gamma_frac")
        return torch.round(w * 2.0 ** gf).to(torch.int8), gf

    def bias_codes(self, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The int32 beta codes of the bias at 2^-out_frac (refused when one does not fit)."""
        b = (self.bias if bias is None else bias)
        b = torch.zeros(self.size, dtype=torch.float64) if b is None else b.detach().double()
        if not bool(torch.isfinite(b).all()):
            raise ValueError("IntLayerNorm bias must be finite, got a NaN or an infinity")
        codes = torch.round(b * 2.0 ** self.out_frac)
        if bool((codes < -2.0 ** 31).any() or (codes > 2.0 ** 31 - 1).any()):
            raise ValueError(f"IntLayerNorm bias must fit int32 codes at 2^-{self.out_frac}, got max |bias| = "
                             f"{float(b.abs().max()):.6g}")
        return codes.to(torch.int32)

    def input_frac(self, x: torch.Tensor) -> int:
        if self.in_frac != "auto":
            return int(self.in_frac)
        a = x.detach().abs()
        a = a[torch.isfinite(a)]  # a non-finite value NaNs its row and sets no precision
        m = float(a.max()) if a.numel() else 0.0
        if m == 0:
            return 15
        return int(max(0, min(15, math.floor(math.log2(127.0 / m)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x)
        if x.dim() == 0:
            raise ValueError(f"IntLayerNorm of size {self.size} needs a last axis of {self.size}, got a 0-d input")
        if x.shape[-1] != self.size:
            raise ValueError(f"IntLayerNorm of size {self.size} got a last axis of {x.shape[-1]}")
        g_codes, gamma_frac = self.weight_codes()
        b_codes = self.bias_codes()
        return _LayerNormFn.apply(x, self.weight, self.bias, self, self.input_frac(x), gamma_frac, g_codes, b_codes)

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
            softmax_in_frac: int = 4, layernorm_out_frac: int = 4, functional: bool = True, calibrate=None):
    """Makes every non-linear operation of `model` integer and reports every non-linear site:
    modules (nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid, nn.Tanh ->
    TableActivation, nn.Softmax -> IntSoftmax, nn.LayerNorm -> IntLayerNorm), nn.MultiheadAttention
    and functional calls (torch.fx). See :func:`gqalut.convert.convert` (this delegates to it);
    returns its :class:`gqalut.convert.Report` (a list of Replacement; ``report.model``)."""
    from .convert import convert as _convert
    return _convert(model, tables=tables, method=method, entries=entries, activations=activations, softmax=softmax,
                    layernorm=layernorm, softmax_in_frac=softmax_in_frac, layernorm_out_frac=layernorm_out_frac,
                    functional=functional, calibrate=calibrate)
