"""gqalut.ibert: I-BERT's integer-only GELU, softmax and LayerNorm as torch modules.

I-BERT (Kim, Gholami, Yao, Mahoney, Keutzer, ICML 2021) is the library's baseline beside the
table methods: ``include/gqalut/ibert.hpp`` defines the operations (i-poly, i-exp with ln2
range reduction, i-erf/i-GELU with dyadic requantization, softmax with one rounded integer
division per element, the iterative integer square root LayerNorm) and these modules run the
library's implementation through its bindings (``gqalut._core.ibert_gelu``, ``ibert_softmax``,
``ibert_layernorm``): the forward is bit-exact with them.

Modules (float in, float out; inside: codes at powers of two, the integer operation, codes
times their scale; backward: the float op's gradient at the quantized input):

* :class:`IBertGELU` (in_frac in [1, 10], out_frac in [0, 15]): int8 codes in and out.
* :class:`IBertSoftmax` (dim, in_frac in [1, 20], out_frac in [1, 15], work_frac): int32
  input codes (saturated only at the int32 range), uint8 probability codes.
* :class:`IBertLayerNorm` (size, eps, in_frac "auto" | [0, 15], out_frac, gamma_frac
  "auto" | [0, 15]): int8 x and gamma codes, int32 beta codes, int8 output codes.

``convert(model, method="ibert")`` uses them; I-BERT has no SiLU, sigmoid, tanh, hard-swish
or hard-sigmoid: those sites are kept float and reported so.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from . import _core
from .torch import _IntLayerNormFnBase, _IntSoftmaxFnBase, _layernorm_affine

if not hasattr(_core, "ibert_gelu"):  # pragma: no cover (a build without python/src/ibert_bindings.cpp)
    raise ImportError("gqalut.ibert needs the library's I-BERT bindings (gqalut._core.ibert_*), "
                      "not in this build: rebuild the python_package target")

__all__ = ["IBertGELU", "IBertSoftmax", "IBertLayerNorm"]


def _check(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if not lo <= int(v) <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return int(v)


# ---------------------------------------------------------------- torch modules

def _check_float(x) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"input must be float32 or float64, got {x.dtype}")


def _codes(x: torch.Tensor, frac: int, lo: float, hi: float) -> torch.Tensor:
    y = torch.round(x.detach().double() * (2.0 ** frac))
    y = torch.nan_to_num(y, nan=0.0, posinf=hi, neginf=lo)
    return y.clamp(lo, hi).to(torch.int64)


def _finest(absmax: float, lo: int, hi: int, limit: float = 127.0) -> int:
    if not math.isfinite(absmax) or absmax <= 0:
        return hi
    return int(max(lo, min(hi, math.floor(math.log2(limit / absmax)))))


class _GeluFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, in_frac, out_frac):
        q = _codes(x, in_frac, -128, 127)
        out = _core.ibert_gelu(np.ascontiguousarray(q.numpy().astype(np.int8)), in_frac, out_frac)
        y = torch.from_numpy(out.astype(np.float64)).to(x.dtype) * (2.0 ** -out_frac)
        ctx.save_for_backward(q.to(x.dtype) * (2.0 ** -in_frac))
        return y

    @staticmethod
    def backward(ctx, g):
        (xq,) = ctx.saved_tensors
        with torch.enable_grad():
            xr = xq.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(F.gelu(xr), xr, g)
        return gx, None, None


class IBertGELU(nn.Module):
    """I-BERT's integer GELU: int8 codes at 2^-in_frac in, int8 codes at 2^-out_frac out
    (default out_frac = in_frac: GELU(x) <= max(x, 0))."""

    def __init__(self, in_frac: int = 5, out_frac: Optional[int] = None):
        super().__init__()
        self.in_frac = _check("in_frac", in_frac, 1, 10)
        self.out_frac = _check("out_frac", in_frac if out_frac is None else out_frac, 0, 15)

    def calibrate(self, absmax: float) -> int:
        """Sets in_frac (and out_frac) to the finest scale whose int8 codes hold absmax."""
        self.in_frac = self.out_frac = _finest(absmax, 1, 10)
        return self.in_frac

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_float(x)
        return _GeluFn.apply(x, self.in_frac, self.out_frac)

    def extra_repr(self) -> str:
        return f"in_frac={self.in_frac}, out_frac={self.out_frac}"


class _SoftmaxFn(_IntSoftmaxFnBase):
    @staticmethod
    def forward(ctx, x, dim, in_frac, out_frac, work_frac):
        xt = x.detach().transpose(dim, -1)
        q = _codes(xt, in_frac, -2.0 ** 31, 2.0 ** 31 - 1)
        out = _core.ibert_softmax(np.ascontiguousarray(q.numpy().astype(np.int32)), in_frac, out_frac, work_frac)
        p = torch.from_numpy(out.astype(np.float64)).to(x.dtype) * (2.0 ** -out_frac)
        return _IntSoftmaxFnBase._finish(ctx, p, q, in_frac, dim, x.dtype)


class IBertSoftmax(nn.Module):
    """I-BERT's integer softmax along `dim`: int32 codes at 2^-in_frac (saturated only at the
    int32 range), i-exp at the working scale 2^-work_frac (-1: the library's default,
    max(in_frac, 10); in_frac: the paper's, at the logits' own scale), one rounded integer
    division per element, uint8 codes at 2^-out_frac."""

    def __init__(self, dim: int = -1, in_frac: int = 4, out_frac: int = 8, work_frac: int = -1):
        super().__init__()
        if dim is None:
            raise ValueError("IBertSoftmax needs an explicit dim")
        self.dim = int(dim)
        self.in_frac = _check("in_frac", in_frac, 1, 20)
        self.out_frac = _check("out_frac", out_frac, 1, 15)
        self.work_frac = -1 if work_frac == -1 else _check("work_frac", work_frac, self.in_frac, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_float(x)
        if x.dim() == 0:
            raise ValueError("IBertSoftmax needs at least one dimension, got a 0-d tensor")
        if not -x.dim() <= self.dim < x.dim():
            raise ValueError(f"dim {self.dim} is out of range for a {x.dim()}-d input")
        if x.shape[self.dim] == 0:
            return x.clone()
        return _SoftmaxFn.apply(x, self.dim % x.dim(), self.in_frac, self.out_frac, self.work_frac)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, in_frac={self.in_frac}, out_frac={self.out_frac}, work_frac={self.work_frac}"


class _LayerNormFn(_IntLayerNormFnBase):
    @staticmethod
    def forward(ctx, x, weight, bias, m, in_frac, gamma_frac):
        w = weight.detach() if weight is not None else torch.ones(m.size, dtype=x.dtype)
        b = bias.detach() if bias is not None else torch.zeros(m.size, dtype=x.dtype)
        q = _codes(x, in_frac, -128, 127)
        gq = _codes(w, gamma_frac, -128, 127)
        bq = _codes(b, m.out_frac, -2.0 ** 31, 2.0 ** 31 - 1)
        out = _core.ibert_layernorm(np.ascontiguousarray(q.numpy().astype(np.int8)),
                                    np.ascontiguousarray(gq.numpy().astype(np.int8)),
                                    np.ascontiguousarray(bq.numpy().astype(np.int32)), in_frac, m.out_frac, gamma_frac,
                                    m.eps)
        y = torch.from_numpy(out.astype(np.float64)).to(x.dtype) * (2.0 ** -m.out_frac)
        _IntLayerNormFnBase._save(ctx, x, weight, bias, (q, gq, bq), (in_frac, gamma_frac, m.out_frac), m.eps, m.size,
                                  n_inputs=6)
        return y


class IBertLayerNorm(nn.Module):
    """I-BERT's integer LayerNorm over the last axis (integer mean and variance, sigma by the
    iterative integer square root, one rounded integer division per element).

    in_frac "auto": per call, the finest in [0, 15] at which max|x| fits int8; gamma_frac
    "auto": the finest in [0, 15] at which max|weight| fits int8."""

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, in_frac: Union[int, str] = "auto", out_frac: int = 4,
                 gamma_frac: Union[int, str] = "auto"):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if len(shape) != 1:
            raise ValueError(f"IBertLayerNorm normalizes the last axis only; normalized_shape must have one entry, "
                             f"got {shape}")
        self.size = int(shape[0])
        self.eps = float(eps)
        if not (self.eps >= 0 and math.isfinite(self.eps)):  # the library's rule
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.in_frac = in_frac if in_frac == "auto" else _check("in_frac", in_frac, 0, 15)
        self.gamma_frac = gamma_frac if gamma_frac == "auto" else _check("gamma_frac", gamma_frac, 0, 15)
        self.out_frac = _check("out_frac", out_frac, 0, 15)
        _layernorm_affine(self, elementwise_affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_float(x)
        if x.dim() == 0 or x.shape[-1] != self.size or self.size == 0:
            raise ValueError(f"IBertLayerNorm of size {self.size} got a last axis of "
                             f"{x.shape[-1] if x.dim() else 'none (0-d input)'}")
        in_frac = self.in_frac
        if in_frac == "auto":
            m = float(x.detach().abs().max()) if x.numel() else 0.0
            in_frac = _finest(m, 0, 15)
        gamma_frac = self.gamma_frac
        if gamma_frac == "auto":
            gamma_frac = _finest(float(self.weight.detach().abs().max()) if self.weight is not None else 1.0, 0, 15)
        return _LayerNormFn.apply(x, self.weight, self.bias, self, in_frac, gamma_frac)

    def extra_repr(self) -> str:
        return f"{self.size}, eps={self.eps}, in_frac={self.in_frac}, out_frac={self.out_frac}, " \
               f"gamma_frac={self.gamma_frac}"


TYPES = (IBertGELU, IBertSoftmax, IBertLayerNorm)


# ---------------------------------------------------------------- convert()'s makers

def activation(func: str) -> Tuple[Optional[nn.Module], str]:
    if func == "gelu":
        return IBertGELU(), ""
    names = {"hswish": "hard-swish", "hsigmoid": "hard-sigmoid", "silu": "SiLU", "sigmoid": "sigmoid", "tanh": "tanh"}
    return None, f"kept: I-BERT has no integer {names.get(func, func)}"


def softmax(dim: int, in_frac: int = 4) -> Tuple[Optional[nn.Module], str]:
    return IBertSoftmax(dim=dim, in_frac=in_frac), ""


def layernorm(size: int, eps: float, affine: bool, out_frac: int = 4) -> Tuple[Optional[nn.Module], str]:
    return IBertLayerNorm(size, eps=eps, elementwise_affine=affine, out_frac=out_frac), ""
