"""gqalut.convert: replace every non-linear operation of a torch model by gqalut's integer one.

:func:`convert` (also ``gqalut.torch.convert``) reaches

* non-linear **modules** anywhere in the tree (nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.SiLU,
  nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LayerNorm), each use of a module shared by several
  parents included;
* **nn.MultiheadAttention**, replaced by :class:`Attention` (the same computation written with an
  ``nn.Softmax`` module, weights shared), whose softmax then becomes integer;
* **functional calls** in ``forward`` code (``torch.softmax``, ``F.softmax``, ``x.softmax``,
  ``F.gelu``, ``F.silu``, ``x * torch.sigmoid(x)``, ``torch.sigmoid``, ``torch.tanh``,
  ``F.hardswish``, ``F.hardsigmoid``, ``F.layer_norm``), found by tracing each module's forward
  with ``torch.fx`` (every submodule a leaf, as torch.ao.quantization's FX mode traces) and
  rewritten as calls of new integer submodules; the traced module replaces the original in
  its parent (for the root: ``report.model``);

and returns a :class:`Report`: one entry per non-linear site (``name: Old -> New`` for an
integer replacement, ``name: Old -> kept: reason`` for one left in float: piecewise-linear
ops that integer codes compute exactly, ops without an integer method, forward code torch.fx
cannot trace).
"""

from __future__ import annotations

import inspect
import math
import operator
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

import gqalut
from .torch import (IntLayerNorm, IntSoftmax, Replacement, TableActivation, default_table)

__all__ = ["convert", "Report", "Attention", "hsigmoid_table"]

# ---------------------------------------------------------------- tables

_HSIGMOID_EXPR = "min(max(x / 6 + 0.5, 0), 1)"


def hsigmoid_table(entries: int = 8, method: str = "optimal") -> gqalut.TableSet:
    """The hard-sigmoid table set (relu6(x + 3) / 6 as a muparser expression on [-4, 4]),
    fitted once per process: gqalut has no built-in hard-sigmoid function."""
    key = (entries, method)
    if key not in _HSIG:
        _HSIG[key] = gqalut.fit(expr=_HSIGMOID_EXPR, range=(-4.0, 4.0), entries=entries, method=method)
    return _HSIG[key]


_HSIG: Dict[Tuple[int, str], gqalut.TableSet] = {}


# ---------------------------------------------------------------- attention

class Attention(nn.Module):
    """nn.MultiheadAttention's computation with the softmax as a module (``self.softmax``).

    Built from an ``nn.MultiheadAttention`` (its projection weights are shared, not copied):
    same arguments and results as its ``forward`` (query/key/value, key_padding_mask,
    need_weights, attn_mask, average_attn_weights; batch_first or not; boolean or additive
    masks; attention dropout in training mode). Not supported (refused by convert(), which
    keeps the original): add_bias_kv, add_zero_attn.
    """

    def __init__(self, mha: nn.MultiheadAttention):
        super().__init__()
        if mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("add_bias_kv / add_zero_attn are not supported")
        self.embed_dim, self.num_heads, self.head_dim = mha.embed_dim, mha.num_heads, mha.head_dim
        self.kdim, self.vdim = mha.kdim, mha.vdim
        self.batch_first, self.dropout = mha.batch_first, mha.dropout
        self._qkv_same_embed_dim = mha._qkv_same_embed_dim
        if mha._qkv_same_embed_dim:
            self.in_proj_weight = mha.in_proj_weight
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight, self.k_proj_weight, self.v_proj_weight = \
                mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        self.in_proj_bias = mha.in_proj_bias
        self.out_proj = mha.out_proj
        self.softmax = nn.Softmax(dim=-1)

    def _proj(self, x, i):
        e = self.embed_dim
        b = None if self.in_proj_bias is None else self.in_proj_bias[i * e:(i + 1) * e]
        if self.in_proj_weight is not None:
            w = self.in_proj_weight[i * e:(i + 1) * e]
        else:
            w = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[i]
        return F.linear(x, w, b)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True):
        batched = query.dim() == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        L, N, E = query.shape
        S = key.shape[0]
        H, D = self.num_heads, self.head_dim
        q = self._proj(query, 0).reshape(L, N * H, D).transpose(0, 1)  # (N H, L, D)
        k = self._proj(key, 1).reshape(S, N * H, D).transpose(0, 1)
        v = self._proj(value, 2).reshape(S, N * H, D).transpose(0, 1)
        scores = torch.bmm(q * (1.0 / math.sqrt(D)), k.transpose(1, 2))  # (N H, L, S)
        if attn_mask is not None:
            m = attn_mask if attn_mask.dim() == 3 else attn_mask.unsqueeze(0)
            if m.dtype == torch.bool:
                scores = scores.masked_fill(m, float("-inf"))
            else:
                scores = scores + m.to(scores.dtype)
        if key_padding_mask is not None:
            kpm = key_padding_mask.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            if kpm.dtype == torch.bool:
                scores = scores.masked_fill(kpm, float("-inf"))
            else:
                scores = scores + kpm.to(scores.dtype)
        p = self.softmax(scores)
        if self.training and self.dropout > 0:
            p = F.dropout(p, self.dropout)
        out = torch.bmm(p, v).transpose(0, 1).reshape(L * N, E)
        out = self.out_proj(out).reshape(L, N, E)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        weights = None
        if need_weights:
            weights = p.reshape(N, H, L, S)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


# ---------------------------------------------------------------- the report

class Report(list):
    """The list of non-linear sites (:class:`gqalut.torch.Replacement` ``(name, old, new)``:
    ``new`` is the integer module's class, or ``"kept: reason"``). ``model`` is the converted
    model: the one given, unless its own forward was traced (then a ``torch.fx.GraphModule``)."""

    model: nn.Module
    calibration: Dict[str, Tuple[float, Optional[int]]]

    @property
    def integer(self) -> List[Replacement]:
        return [r for r in self if not r.new.startswith("kept")]

    @property
    def kept(self) -> List[Replacement]:
        return [r for r in self if r.new.startswith("kept")]

    def __str__(self) -> str:
        lines = [repr(r) for r in self]
        lines.append(f"{len(self)} non-linear sites: {len(self.integer)} integer, {len(self.kept)} kept float")
        return "\n".join(lines)


# ---------------------------------------------------------------- what each site becomes

_TABLE_MODULES = {nn.GELU: "gelu", nn.Hardswish: "hswish", nn.SiLU: "silu", nn.Sigmoid: "sigmoid",
                  nn.Tanh: "tanh", nn.Hardsigmoid: "hsigmoid"}
_PIECEWISE_LINEAR = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.PReLU, nn.MaxPool1d, nn.MaxPool2d,
                     nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.Threshold)
_NO_INTEGER = (nn.LogSoftmax, nn.Softmin, nn.ELU, nn.CELU, nn.SELU, nn.GLU, nn.Softplus, nn.Softsign,
               nn.Mish, nn.Tanhshrink, nn.LogSigmoid, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d,
               nn.InstanceNorm3d, nn.LocalResponseNorm, nn.Softmax2d)
_INTEGER_TYPES: Tuple[type, ...] = (TableActivation, IntSoftmax, IntLayerNorm)
PIECEWISE = "kept: piecewise linear (exact on integer codes, no table needed)"

class _Ctx:
    def __init__(self, tables, method, entries, activations, softmax, layernorm, softmax_in_frac, layernorm_out_frac):
        self.tables, self.method, self.entries = tables, method, entries
        self.activations, self.softmax, self.layernorm = activations, softmax, layernorm
        self.softmax_in_frac, self.layernorm_out_frac = softmax_in_frac, layernorm_out_frac
        self.report = Report()
        self.float_of: Dict[int, Tuple[nn.Module, Callable, str]] = {}  # id(new) -> (new, float op, site name)
        self.ibert = None
        if method == "ibert":
            from . import ibert  # noqa: F401  (raises a clear error when the bindings are missing)
            self.ibert = ibert

    def remember(self, new: nn.Module, fn: Optional[Callable], name: str) -> None:
        """Records the float operation a new module replaces (for calibration)."""
        if fn is not None and id(new) not in self.float_of:
            self.float_of[id(new)] = (new, fn, name)

    def table(self, func: str) -> gqalut.TableSet:
        if func in self.tables:
            return self.tables[func]
        if func == "hsigmoid":
            return hsigmoid_table(self.entries, self.method)
        return default_table(func, entries=self.entries, method=self.method)

    # Each maker returns (module or None, reason when None).
    def activation(self, func: str) -> Tuple[Optional[nn.Module], str]:
        if not self.activations:
            return None, "kept: activations=False"
        if self.ibert is not None:
            return self.ibert.activation(func)
        return TableActivation(self.table(func)), ""

    def make_softmax(self, dim: Optional[int]) -> Tuple[Optional[nn.Module], str]:
        if not self.softmax:
            return None, "kept: softmax=False"
        if dim is None:
            return None, "kept: softmax without an explicit dim"
        if self.ibert is not None:
            return self.ibert.softmax(dim, in_frac=self.softmax_in_frac)
        return IntSoftmax(dim=dim, in_frac=self.softmax_in_frac, exp_table=self.tables.get("exp2m1"),
                          div_table=self.tables.get("reci")), ""

    def make_layernorm(self, shape, eps, weight, bias) -> Tuple[Optional[nn.Module], str]:
        if not self.layernorm:
            return None, "kept: layernorm=False"
        shape = tuple(shape) if isinstance(shape, (tuple, list, torch.Size)) else (shape,)
        if len(shape) != 1:
            return None, "kept: normalizes several axes"
        if self.ibert is not None:
            new, why = self.ibert.layernorm(int(shape[0]), eps, weight is not None, out_frac=self.layernorm_out_frac)
        else:
            new, why = IntLayerNorm(int(shape[0]), eps=eps, elementwise_affine=weight is not None,
                                    out_frac=self.layernorm_out_frac, rsqrt_table=self.tables.get("rsqrt")), ""
        if new is not None and weight is not None:
            with torch.no_grad():
                new.weight.copy_(weight.detach())
                if bias is not None:
                    new.bias.copy_(bias.detach())
                else:
                    new.bias.zero_()
        return new, why

    def for_module(self, child: nn.Module) -> Tuple[Optional[nn.Module], Optional[str]]:
        """(replacement, None), (None, 'kept: ...') for a non-linear module, or (None, None)."""
        t = type(child)
        if t in _TABLE_MODULES:
            return self.activation(_TABLE_MODULES[t])
        if t is nn.Softmax:
            return self.make_softmax(child.dim)
        if t is nn.LayerNorm:
            return self.make_layernorm(child.normalized_shape, child.eps,
                                       child.weight if child.elementwise_affine else None,
                                       child.bias if child.elementwise_affine else None)
        if t is nn.MultiheadAttention:
            try:
                return Attention(child), ""
            except ValueError as e:
                return None, f"kept: {e}"
        if isinstance(child, _PIECEWISE_LINEAR):
            return None, PIECEWISE
        if isinstance(child, _NO_INTEGER):
            return None, f"kept: no integer operation for {t.__name__}"
        kept = getattr(child, "gqalut_kept", None)
        if isinstance(kept, str):
            return None, f"kept: {kept}"
        return None, None


def _modules_with_parents(model: nn.Module) -> List[Tuple[nn.Module, str, nn.Module, str]]:
    """Every (parent, attribute, child, qualified name) in depth-first order, shared modules
    at each of their places (nn.Module.named_modules lists a shared module once)."""
    out = []

    def walk(parent, prefix, stack):
        for name, child in list(parent._modules.items()):
            if child is None:
                continue
            full = f"{prefix}.{name}" if prefix else name
            out.append((parent, name, child, full))
            if id(child) not in stack:
                walk(child, full, stack | {id(child)})

    walk(model, "", {id(model)})
    return out


def _module_pass(model: nn.Module, ctx: _Ctx) -> None:
    # id(module) -> (module, replacement or None, first place, what became of it, old class name);
    # the module is kept so that its id is not reused. Replacements are entered too, so that a
    # shared container visited again reports the sites inside it at its second place as well.
    done: Dict[int, Tuple[nn.Module, Optional[nn.Module], str, str, str]] = {}

    def visit(parent: nn.Module, prefix: str, stack: frozenset) -> None:
        for name, child in list(parent._modules.items()):
            if child is None:
                continue
            full = f"{prefix}.{name}" if prefix else name
            if id(child) in done:  # a shared module: the same replacement at every place
                _, new, first, what, old = done[id(child)]
                if new is not None:
                    setattr(parent, name, new)
                if what == "container":
                    if id(child) not in stack:
                        visit(child, full, stack | {id(child)})
                elif what != "already integer":
                    ctx.report.append(Replacement(full, old, f"{what} (same module as {first})"))
                continue
            if isinstance(child, _INTEGER_TYPES) or (ctx.ibert is not None and isinstance(child, ctx.ibert.TYPES)):
                done[id(child)] = (child, None, full, "already integer", type(child).__name__)
                continue
            new, why = ctx.for_module(child)
            if new is not None:
                setattr(parent, name, new)
                old = type(child).__name__
                done[id(child)] = (child, new, full, type(new).__name__, old)
                done[id(new)] = (new, None, full, type(new).__name__, old)
                ctx.report.append(Replacement(full, old, type(new).__name__))
                if not isinstance(new, Attention):
                    ctx.remember(new, child, full)
                if isinstance(new, Attention):
                    visit(new, full, stack | {id(new)})
                continue
            if why is not None:
                done[id(child)] = (child, None, full, why, type(child).__name__)
                ctx.report.append(Replacement(full, type(child).__name__, why))
                continue
            done[id(child)] = (child, None, full, "container", type(child).__name__)
            visit(child, full, stack | {id(child)})
            _fix_transformer_layer(child, full, ctx)

    visit(model, "", frozenset({id(model)}))


def _fix_transformer_layer(m: nn.Module, name: str, ctx: _Ctx) -> None:
    """nn.TransformerEncoderLayer / DecoderLayer: a functional activation (F.relu, F.gelu) becomes
    a module, and the fused fast path (which would bypass the replaced modules) is switched off."""
    if not isinstance(m, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        return
    act = getattr(m, "activation", None)
    if act is F.gelu:
        new, why = ctx.activation("gelu")
        if new is not None:
            m.activation = new
            ctx.remember(new, F.gelu, f"{name}.activation")
            ctx.report.append(Replacement(f"{name}.activation", "F.gelu", type(new).__name__))
        else:
            ctx.report.append(Replacement(f"{name}.activation", "F.gelu", why))
    elif act is F.relu:
        ctx.report.append(Replacement(f"{name}.activation", "F.relu", PIECEWISE))
    if hasattr(m, "activation_relu_or_gelu"):
        m.activation_relu_or_gelu = 0  # disables torch's fused fast path


# ---------------------------------------------------------------- functional calls (torch.fx)

_F_NAMES = ("softmax", "log_softmax", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "layer_norm",
            "relu", "relu6", "leaky_relu", "hardtanh", "softplus", "elu", "mish", "group_norm", "instance_norm",
            "multi_head_attention_forward", "max_pool1d", "max_pool2d", "max_pool3d")
_TORCH_NAMES = ("softmax", "log_softmax", "sigmoid", "tanh", "relu", "exp", "log", "sqrt", "rsqrt", "erf", "reciprocal",
                "pow", "mul")
_DISPLAY: Dict[Any, str] = {}
for _n in _TORCH_NAMES:
    if hasattr(torch, _n):
        _DISPLAY.setdefault(getattr(torch, _n), f"torch.{_n}")
for _n in _F_NAMES:
    if hasattr(F, _n):
        _DISPLAY.setdefault(getattr(F, _n), f"F.{_n}")


def _target_name(node) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    t = node.target
    try:
        if t in _DISPLAY:
            return _DISPLAY[t]
    except TypeError:
        pass
    return getattr(t, "__name__", str(t))


_SOFTMAX = {torch.softmax, F.softmax, torch.nn.functional.softmax}
_SIGMOID = {torch.sigmoid, F.sigmoid}
_TANH = {torch.tanh, F.tanh}
_TABLE_FUNCS = {F.gelu: "gelu", F.silu: "silu", F.hardswish: "hswish", F.hardsigmoid: "hsigmoid"}
_METHODS = {"softmax": "softmax", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "exp": "exp", "log": "log",
            "sqrt": "sqrt", "rsqrt": "rsqrt", "erf": "erf", "reciprocal": "reciprocal", "log_softmax": "log_softmax",
            "pow": "pow"}
_PIECEWISE_FUNCS = {F.relu, torch.relu, F.relu6, F.leaky_relu, F.hardtanh, F.max_pool1d, F.max_pool2d, F.max_pool3d}
_KEPT_FUNCS = {torch.exp: "exp outside a softmax: unbounded input, no integer table",
               torch.log: "log: no integer table", torch.sqrt: "sqrt outside a LayerNorm: no integer table",
               torch.rsqrt: "rsqrt outside a LayerNorm: no integer table", torch.erf: "erf outside GELU: no integer table",
               torch.reciprocal: "reciprocal: no integer table", torch.pow: "pow: no integer table",
               F.log_softmax: "no integer log-softmax", torch.log_softmax: "no integer log-softmax",
               F.softplus: "no integer softplus", F.elu: "no integer ELU", F.mish: "no integer Mish",
               F.group_norm: "no integer GroupNorm", F.instance_norm: "no integer InstanceNorm",
               F.multi_head_attention_forward: "functional attention: use nn.MultiheadAttention (converted)"}
_SOURCE_WORDS = re.compile(r"\b(softmax|log_softmax|gelu|silu|sigmoid|tanh|hardswish|hardsigmoid|layer_norm|relu|relu6|"
                           r"leaky_relu|hardtanh|exp|log|sqrt|rsqrt|erf|reciprocal|pow|softplus|elu|mish|group_norm|"
                           r"instance_norm|multi_head_attention_forward|max_pool[123]d)\b")


def _arg(node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


class _Tracer(torch.fx.Tracer):
    # root=None: torch.fx re-creates the tracer class without arguments when it unpickles a GraphModule
    def __init__(self, root: Optional[nn.Module] = None):
        super().__init__()
        self._root = root

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return m is not self._root


def _needs_trace(m: nn.Module) -> bool:
    t = type(m)
    if getattr(m, "gqalut_no_trace", False) or isinstance(m, _INTEGER_TYPES) or isinstance(m, Attention):
        return False
    if isinstance(m, torch.fx.GraphModule):
        return True  # converted before: traced again to report its kept sites
    if t.__module__.startswith("torch.nn") or t.__module__.startswith("torch.fx"):
        return False  # torch's own modules: the module pass handles them
    if t.forward is nn.Module.forward:
        return False
    try:
        src = inspect.getsource(t.forward)
    except (OSError, TypeError):
        return True
    body = src.split(":", 1)[1] if ":" in src else src
    return bool(_SOURCE_WORDS.search(body))


def _functional_sites(gm: torch.fx.GraphModule, name: str, ctx: _Ctx) -> int:
    """Rewrites the functional non-linear calls of a traced module; returns how many sites."""
    prefix = f"{name}." if name else ""
    graph = gm.graph
    count = 0
    used_names = set(dict(gm.named_children()))

    def add(base: str, mod: nn.Module) -> str:
        key, i = f"gqalut_{base}", 1
        while key in used_names or hasattr(gm, key):
            i += 1
            key = f"gqalut_{base}_{i}"
        used_names.add(key)
        gm.add_submodule(key, mod)
        return key

    def swap(node, mod: nn.Module, inp, old: str, fn: Optional[Callable]) -> None:
        key = add(node.name, mod)
        ctx.remember(mod, fn, prefix + key)
        with graph.inserting_after(node):
            call = graph.call_module(key, (inp,))
        node.replace_all_uses_with(call)
        graph.erase_node(node)
        ctx.report.append(Replacement(prefix + key, old, type(mod).__name__))

    for node in list(graph.nodes):
        if node.op not in ("call_function", "call_method"):
            continue
        t = node.target
        is_method = node.op == "call_method"
        kind = None
        if (not is_method and t in _SOFTMAX) or (is_method and t == "softmax"):
            kind = "softmax"
        elif (not is_method and t in _SIGMOID) or (is_method and t == "sigmoid"):
            kind = "sigmoid"
        elif (not is_method and t in _TANH) or (is_method and t == "tanh"):
            kind = "tanh"
        elif not is_method and t in _TABLE_FUNCS:
            kind = _TABLE_FUNCS[t]
        elif not is_method and t is F.layer_norm:
            kind = "layer_norm"
        elif (not is_method and t in _PIECEWISE_FUNCS) or (is_method and t in ("relu", "relu_")):
            kind = "piecewise"
        elif not is_method and t in _KEPT_FUNCS:
            kind = "kept"
        elif is_method and t in _METHODS and t not in ("softmax", "sigmoid", "tanh", "relu"):
            kind = "kept"
        if kind is None:
            continue
        count += 1
        old = _target_name(node)
        where = f"{prefix}{node.name}"
        x = node.args[0] if node.args else node.kwargs.get("input")
        if kind == "softmax":
            dim = _arg(node, 1, "dim")
            if not isinstance(dim, int):
                ctx.report.append(Replacement(where, old, "kept: softmax dim is not a constant int"))
                continue
            new, why = ctx.make_softmax(dim)
        elif kind == "sigmoid":
            users = list(node.users)
            mul = users[0] if len(users) == 1 else None
            if mul is not None and mul.op == "call_function" and mul.target in (operator.mul, torch.mul) and \
                    len(mul.args) == 2 and x in mul.args and node in mul.args and not mul.kwargs:
                new, why = ctx.activation("silu")  # x * sigmoid(x)
                if new is not None:
                    key = add(mul.name, new)
                    ctx.remember(new, F.silu, prefix + key)
                    with graph.inserting_after(mul):
                        call = graph.call_module(key, (x,))
                    mul.replace_all_uses_with(call)
                    graph.erase_node(mul)
                    graph.erase_node(node)
                    ctx.report.append(Replacement(prefix + key, f"x * {old}(x)", type(new).__name__))
                else:
                    ctx.report.append(Replacement(where, f"x * {old}(x)", why))
                continue
            new, why = ctx.activation("sigmoid")
        elif kind == "tanh":
            new, why = ctx.activation("tanh")
        elif kind in ("gelu", "silu", "hswish", "hsigmoid"):
            new, why = ctx.activation(kind)
        elif kind == "layer_norm":
            shape = _arg(node, 1, "normalized_shape")
            w, b = _arg(node, 2, "weight"), _arg(node, 3, "bias")
            eps = _arg(node, 4, "eps", 1e-5)
            consts = []
            for v in (w, b):
                if v is None:
                    consts.append(None)
                elif isinstance(v, torch.fx.Node) and v.op == "get_attr":
                    consts.append(_fetch_attr(gm, v.target))
                else:
                    consts.append(False)
            if any(c is False for c in consts) or not isinstance(eps, (int, float)) or \
                    not isinstance(shape, (int, tuple, list, torch.Size)) or \
                    (isinstance(shape, (tuple, list)) and not all(isinstance(s, int) for s in shape)):
                ctx.report.append(Replacement(where, old, "kept: shape, weight or bias computed at run time"))
                continue
            new, why = ctx.make_layernorm(shape, float(eps), consts[0], consts[1])
            if new is not None and consts[0] is None and consts[1] is not None:
                new, why = None, "kept: bias without weight"
        elif kind == "piecewise":
            ctx.report.append(Replacement(where, old, PIECEWISE))
            continue
        else:
            reason = _KEPT_FUNCS.get(t) if not is_method else {
                "exp": "exp outside a softmax: unbounded input, no integer table", "log": "log: no integer table",
                "sqrt": "sqrt outside a LayerNorm: no integer table", "rsqrt": "rsqrt outside a LayerNorm: no integer table",
                "erf": "erf outside GELU: no integer table", "reciprocal": "reciprocal: no integer table",
                "log_softmax": "no integer log-softmax", "pow": "pow: no integer table"}[t]
            ctx.report.append(Replacement(where, old, f"kept: {reason}"))
            continue
        if new is None:
            ctx.report.append(Replacement(where, old, why))
            continue
        fn = _float_fn(node, consts if kind == "layer_norm" else None)
        swap(node, new, x, old, fn)
    if count:
        graph.lint()
        gm.recompile()
    return count


def _float_fn(node, ln_consts) -> Optional[Callable]:
    """The float operation of a functional site as a function of its input (None when another
    argument is computed at run time)."""
    rest, kwargs = list(node.args[1:]), dict(node.kwargs)
    if ln_consts is not None:  # F.layer_norm(x, shape, weight, bias, eps)
        shape = _arg(node, 1, "normalized_shape")
        eps = _arg(node, 4, "eps", 1e-5)
        w, b = ln_consts
        return lambda x: F.layer_norm(x, shape if not isinstance(shape, int) else (shape,), w, b, eps)
    if any(isinstance(a, torch.fx.Node) for a in rest + list(kwargs.values())):
        return None
    kwargs.pop("input", None)
    if node.op == "call_method":
        return lambda x: getattr(x, node.target)(*rest, **kwargs)
    return lambda x: node.target(x, *rest, **kwargs)


def _fetch_attr(gm: nn.Module, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _functional_pass(model: nn.Module, ctx: _Ctx) -> nn.Module:
    places: Dict[int, List[Tuple[nn.Module, str, str]]] = {}
    order: List[nn.Module] = [model]
    for parent, attr, child, full in _modules_with_parents(model):
        if id(child) not in places:
            order.append(child)
        places.setdefault(id(child), []).append((parent, attr, full))
    root = model
    for m in order:
        if not _needs_trace(m):
            continue
        name = places[id(m)][0][2] if m is not model else ""
        try:
            graph = _Tracer(m).trace(m)
            gm = torch.fx.GraphModule(m, graph, class_name=type(m).__name__ + "Traced")
        except Exception as e:  # forward code that torch.fx cannot follow
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            try:
                found = sorted(set(_SOURCE_WORDS.findall(inspect.getsource(type(m).forward))))
            except (OSError, TypeError):
                found = []
            ctx.report.append(Replacement(name or "<root>", f"{type(m).__name__}.forward",
                                          f"kept: torch.fx cannot trace it ({first[:160]}); its calls "
                                          f"{', '.join(found) or '(unknown)'} stay float"))
            continue
        gm.train(m.training)
        if _functional_sites(gm, name, ctx) == 0:
            continue
        if m is model:
            root = gm
        for parent, attr, _ in places.get(id(m), []):
            setattr(parent, attr, gm)
    return root


# ---------------------------------------------------------------- calibration

def _calibrate(model: nn.Module, ctx: _Ctx, batches) -> Dict[str, Tuple[float, Optional[int]]]:
    """Runs `batches` through the converted model with every new module computing the float
    operation it replaced (so each site sees the float model's values), records max |x| per
    site, then gives each TableActivation the finest scale 2^-n of its set whose int8 codes
    hold that maximum (n = the largest scale with max|x| 2^n <= 127; the coarsest when none)."""
    stats: Dict[int, float] = {}
    swapped = []
    for key, (mod, fn, name) in ctx.float_of.items():
        def fwd(x, *args, _fn=fn, _key=key, **kwargs):
            if x.numel():
                stats[_key] = max(stats.get(_key, 0.0), float(x.detach().abs().max()))
            return _fn(x)
        mod.__dict__["forward"] = fwd
        swapped.append(mod)
    try:
        with torch.no_grad():
            for b in batches:
                if isinstance(b, dict):
                    model(**b)
                elif isinstance(b, (tuple, list)):
                    model(*b)
                else:
                    model(b)
    finally:
        for mod in swapped:
            mod.__dict__.pop("forward", None)
    out: Dict[str, Tuple[float, Optional[int]]] = {}
    for key, (mod, fn, name) in ctx.float_of.items():
        if key not in stats:
            continue
        m = stats[key]
        n = None
        if ctx.ibert is not None and isinstance(mod, ctx.ibert.IBertGELU):
            n = mod.calibrate(m)
        elif isinstance(mod, TableActivation) and math.isfinite(m):
            fit = [sc for sc in mod.scales if m * 2.0 ** sc <= 127.0]
            n = max(fit) if fit else min(mod.scales)
            with torch.no_grad():
                mod.log2_scale.fill_(-float(n))
        out[name] = (m, n)
    return out


# ---------------------------------------------------------------- entry point

def convert(model: nn.Module, tables: Optional[Dict[str, gqalut.TableSet]] = None, method: str = "optimal",
            entries: int = 8, activations: bool = True, softmax: bool = True, layernorm: bool = True,
            softmax_in_frac: int = 4, layernorm_out_frac: int = 4, functional: bool = True,
            calibrate=None) -> Report:
    """Makes every non-linear operation of `model` integer where gqalut has an integer method,
    in place, and reports every non-linear site.

    Modules: nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid, nn.Tanh ->
    TableActivation; nn.Softmax -> IntSoftmax; nn.LayerNorm -> IntLayerNorm (weights copied);
    nn.MultiheadAttention -> :class:`Attention` (its softmax then IntSoftmax). A module used at
    several places is replaced at every place by one shared replacement (each place reported).
    functional: also rewrite functional calls in forward code (torch.fx; see the module doc);
    a module whose forward is traced is replaced by its ``GraphModule`` in its parent; when
    the root's own forward has such calls the converted model is ``report.model`` (a new
    GraphModule; ``model`` itself then keeps those calls float).

    tables: function name ("gelu", "hswish", "hsigmoid", "silu", "sigmoid", "tanh", "rsqrt",
    "exp2m1", "reci") -> TableSet instead of the default ones (fitted with `method` and
    `entries`). method: a table search method of ``gqalut.methods()`` or ``"ibert"`` (I-BERT's
    integer GELU, softmax and LayerNorm; other activations kept float, reported).
    activations / softmax / layernorm: False keeps that kind float (reported).
    calibrate: a tensor (one batch) or an iterable of inputs (a tensor, a tuple of positional
    inputs or a dict of keyword inputs per item) run once, in float, after the conversion: each table activation
    gets the finest input scale whose int8 codes hold the largest |x| its site saw
    (``report.calibration``: site -> (max |x|, n)); without it a table activation starts at the
    finest scale whose codes span its table's range (e.g. +-4 for GELU, hard-swish, SiLU).
    Returns a :class:`Report` (a list of ``Replacement(name, old, new)``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tables = dict(tables or {})
    for k, v in tables.items():
        if not isinstance(v, gqalut.TableSet):
            raise TypeError(f"tables[{k!r}] must be a gqalut.TableSet, got {type(v).__name__}")
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {type(method).__name__}")
    if method != "ibert":
        known = {m["name"] for m in gqalut.methods()} | {a for m in gqalut.methods() for a in m.get("aliases", [])}
        if method not in known:
            raise ValueError(f"unknown method '{method}' (known: {', '.join(sorted(known))}, ibert)")
    for flag, val in (("activations", activations), ("softmax", softmax), ("layernorm", layernorm),
                      ("functional", functional)):
        if not isinstance(val, bool):
            raise TypeError(f"{flag} must be True or False, got {type(val).__name__}")
    if isinstance(calibrate, torch.Tensor):
        calibrate = [calibrate]  # one batch, not its rows
    elif calibrate is not None and (isinstance(calibrate, (str, bytes)) or not hasattr(calibrate, "__iter__")):
        raise TypeError(f"calibrate must be a tensor or an iterable of inputs (tensors, tuples or dicts), "
                        f"got {type(calibrate).__name__}")
    ctx = _Ctx(tables, method, entries, activations, softmax, layernorm, softmax_in_frac, layernorm_out_frac)
    # the root itself may be a non-linear module
    new, why = ctx.for_module(model)
    if new is not None or why is not None:
        if new is not None:
            ctx.report.append(Replacement("<root>", type(model).__name__, type(new).__name__))
            if isinstance(new, Attention):
                _module_pass(new, ctx)
                for r in ctx.report[1:]:
                    ctx.report[ctx.report.index(r)] = Replacement(f"<root>.{r.name}", r.old, r.new)
            ctx.report.model = new
            ctx.remember(new, model, "<root>")
            ctx.report.calibration = _calibrate(new, ctx, calibrate) if calibrate is not None else {}
        else:
            ctx.report.append(Replacement("<root>", type(model).__name__, why))
            ctx.report.model = model
            ctx.report.calibration = {}
        return ctx.report
    _module_pass(model, ctx)
    _fix_transformer_layer(model, "<root>", ctx)
    ctx.report.model = _functional_pass(model, ctx) if functional else model
    ctx.report.calibration = _calibrate(ctx.report.model, ctx, calibrate) if calibrate is not None else {}
    return ctx.report
