"""gqalut: integer piecewise-linear tables for the non-linear operations of Transformers.

The Python face of the gqalut C++ library (the extension ``gqalut._core``)::

    import numpy as np, gqalut
    t = gqalut.fit(func="gelu", entries=8, method="optimal", scales=range(0, 7))
    print(t.paper_score)                  # mean P-int MSE over the scales
    t.save("gelu8.json")                  # official GQA-LUT layout + gqalut metadata
    q = np.arange(-128, 128, dtype=np.int8)
    y = t.apply(q, n=5, output="value")   # the integer datapath through the SIMD kernels

Bad input raises ``ValueError`` (the library's one-line message: unknown names,
ranges, scales a table lacks, malformed files) or ``TypeError`` (wrong types and
dtypes). Arrays must have the documented dtype exactly (no silent casts); an array
that is not C-contiguous is copied once into a contiguous one (never refused).
"""

from __future__ import annotations

import json as _json
import os as _os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as _np

from . import _core

__all__ = [
    "TableSet", "Table", "fit", "load", "loads", "methods", "functions", "official_recipe",
    "softmax", "layernorm", "activation", "isa",
]

Scales = Union[str, int, Iterable[int], None]


# ---------------------------------------------------------------- helpers

def _scales(scales: Scales) -> List[int]:
    """'0:6', 5, [0, 2, 4] or range(7) -> sorted list of ints (the library's rules)."""
    if scales is None:
        return []
    if isinstance(scales, str):
        return list(_core.parse_scales(scales))
    if isinstance(scales, (int, _np.integer)) and not isinstance(scales, bool):
        return list(_core.parse_scales(str(int(scales))))
    try:
        items = list(scales)
    except TypeError:
        raise TypeError(f"scales must be a string like '0:6', an int or a sequence of ints, got {type(scales).__name__}")
    for s in items:
        if isinstance(s, bool) or not isinstance(s, (int, _np.integer)):
            raise TypeError(f"scales must be ints, got {s!r}")
    if not items:
        raise ValueError("scales must not be empty")
    return list(_core.parse_scales(",".join(str(int(s)) for s in items)))


def _range(range_: Optional[Sequence[float]]) -> List[float]:
    if range_ is None:
        return []
    try:
        r = [float(v) for v in range_]
    except (TypeError, ValueError):
        raise TypeError(f"range must be two numbers (lo, hi), got {range_!r}")
    if len(r) != 2:
        raise ValueError(f"range must be (lo, hi), got {len(r)} numbers")
    return r


def _int8_array(q: Any, name: str = "q", dtypes: Tuple[Any, ...] = (_np.int8,)) -> _np.ndarray:
    """The array as C-contiguous with one of `dtypes` exactly; copies a strided array."""
    if not isinstance(q, _np.ndarray):
        raise TypeError(f"{name} must be a numpy array of dtype {' or '.join(_np.dtype(d).name for d in dtypes)}, "
                        f"got {type(q).__name__}")
    if q.dtype not in [_np.dtype(d) for d in dtypes]:
        raise TypeError(f"{name} must have dtype {' or '.join(_np.dtype(d).name for d in dtypes)}, got {q.dtype} "
                        f"(convert explicitly, e.g. {name}.astype(np.int8), after checking the range)")
    return _np.ascontiguousarray(q)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- tables

class Table:
    """One table at one input scale 2^-n (read-only view of the C++ Table).

    Attributes: ``n``, ``breakpoints`` (codes P_i), ``slopes`` (codes K_i),
    ``intercepts`` (codes B_i), ``slope_format`` / ``intercept_format`` (``"q1.6"``),
    ``entries``, ``shift`` (L: output = acc * 2^-L), ``tie`` (segment rule).
    """

    def __init__(self, core: "_core.Table", owner: "TableSet"):
        self._t = core
        self._owner = owner  # keeps the C++ set alive

    n = property(lambda self: self._t.n)
    breakpoints = property(lambda self: list(self._t.breakpoints))
    slopes = property(lambda self: list(self._t.slopes))
    intercepts = property(lambda self: list(self._t.intercepts))
    slope_format = property(lambda self: self._t.slope_format)
    intercept_format = property(lambda self: self._t.intercept_format)
    entries = property(lambda self: self._t.entries)
    shift = property(lambda self: self._t.shift)
    is_int8 = property(lambda self: self._t.is_int8)

    @property
    def tie(self) -> str:
        """The segment rule: ``"right"`` (q >= P goes right, SPEC) or ``"left"`` (q > P)."""
        return self._t.tie

    def eval_acc(self, q: int) -> int:
        """The scalar evaluator (the oracle): the accumulator of code q."""
        return self._t.eval_acc(int(q))

    def eval_value(self, q: int) -> float:
        """acc * 2^-L of code q (exact)."""
        return self._t.eval_acc(int(q)) * 2.0 ** -self._t.shift

    def __repr__(self) -> str:
        return (f"Table(n={self.n}, entries={self.entries}, {self.slope_format}/{self.intercept_format}, "
                f"breakpoints={self.breakpoints})")


class TableSet:
    """A family of tables for one function, one per input scale (what a JSON file holds).

    Make one with :func:`fit` or :func:`load`. ``set[n]`` is the :class:`Table` at scale n.
    """

    def __init__(self, core: "_core.TableSet"):
        if not isinstance(core, _core.TableSet):
            raise TypeError("use gqalut.fit() or gqalut.load() to make a TableSet")
        self._s = core

    # -- description
    @property
    def function(self) -> str:
        """Function name (registry name or a user name)."""
        return self._s.function

    @property
    def expression(self) -> str:
        """muparser expression of a user function ('' for built-in ones)."""
        return self._s.expression

    @property
    def range(self) -> Tuple[float, float]:
        """The range errors are measured on ((0, 0) if the file records none)."""
        return (self._s.lo, self._s.hi)

    @property
    def entries(self) -> int:
        return self._s.entries

    @property
    def scales(self) -> List[int]:
        """The input scales n (x = q * 2^-n) the set holds."""
        return list(self._s.scales)

    @property
    def meta(self) -> Dict[str, Any]:
        """gqalut's metadata (method, seed, settings, errors) as a dict."""
        return _json.loads(self._s.meta_json)

    @property
    def method(self) -> Optional[str]:
        return self.meta.get("method")

    @property
    def tie(self) -> str:
        """The segment rule of the set's tables ("right" or "left")."""
        return self._s.tie

    def __getitem__(self, n: int) -> Table:
        return Table(self._s.at(int(n)), self)

    def __iter__(self):
        return (self[n] for n in self.scales)

    def __len__(self) -> int:
        return len(self.scales)

    def __repr__(self) -> str:
        return (f"TableSet(function={self.function!r}, entries={self.entries}, scales={self.scales}, "
                f"method={self.method!r})")

    # -- files
    def save(self, path: Union[str, _os.PathLike]) -> None:
        """Writes the official GQA-LUT JSON layout with gqalut's metadata (atomically)."""
        _core.save(self._s, _os.fspath(path))

    def dumps(self) -> str:
        """The JSON text :meth:`save` writes."""
        return _core.dumps(self._s)

    # -- errors
    def eval(self, protocol: str = "int", scales: Scales = None, func: Optional[str] = None,
             expr: Optional[str] = None, range: Optional[Sequence[float]] = None,
             tie: Optional[str] = None) -> Dict[str, Any]:
        """Exact errors per scale: the same object ``gqalut eval --json`` prints.

        protocol: ``"int"`` (P-int, every int8 code in the range, integer datapath) or
        ``"grid"`` (the official trainer's 0.01 grid). scales: default all the set holds.
        func/expr/range: measure against another function or range (default: the set's).
        tie: the segment rule for a set that records none (an official file; default
        "right", the official trainer's); a set that records its rule is measured with it.
        Returns a dict with keys function, entries, protocol, scales (list of
        {n, points, mse, max_abs_error}), paper_score, tie_rule, tie_recorded,
        other_tie_rule (official files only: the other rule's scales and paper_score),
        range, int8, slope_format, intercept_format.
        """
        return _json.loads(_core.evaluate_json(self._s, func or "", expr or "", _range(range),
                                               _text(protocol, "protocol"), _scales(scales),
                                               _text(tie, "tie") if tie is not None else ""))

    @property
    def paper_score(self) -> float:
        """The paper score: mean over the set's scales of the P-int MSE (SPEC section 3)."""
        return self.eval()["paper_score"]

    # -- kernels
    def apply(self, q: _np.ndarray, n: int, output: str = "acc", out: Optional[_np.ndarray] = None) -> _np.ndarray:
        """Applies the table at scale n to every code of q through the SIMD kernels.

        q: numpy int8 array (int16 for 16-bit input codes), any shape; a strided
        array is copied once (contiguous), other dtypes raise TypeError.
        output: ``"acc"`` -> int32 accumulators (value = acc * 2^-L, L = set[n].shift);
        ``"value"`` -> float64 values acc * 2^-L (exact). out: an int32 C-contiguous
        array of q's size to write the accumulators into (output="acc" only).
        """
        if isinstance(n, bool) or not isinstance(n, (int, _np.integer)):
            raise TypeError(f"n must be an int (the input scale), got {type(n).__name__}")
        table = self._s.at(int(n))
        q = _int8_array(q, "q", (_np.int8, _np.int16))
        if output == "acc":
            if out is not None and not isinstance(out, _np.ndarray):
                raise TypeError(f"out must be a numpy int32 array, got {type(out).__name__}")
            if out is not None and (out.dtype != _np.int32 or not out.flags.c_contiguous or not out.flags.writeable):
                raise TypeError(f"out must be a writeable C-contiguous int32 array, got {out.dtype}")
            if q.dtype == _np.int8:
                r = _core.apply_acc8(table, q, out)
            else:
                r = _core.apply_acc16(table, q, out)
            return r if out is None else out
        if output == "value":
            if out is not None:
                raise ValueError("out applies to output='acc' only")
            if q.dtype != _np.int8:
                raise TypeError("output='value' takes int8 codes")
            return _core.apply_value8(table, q)
        raise ValueError(f"output must be 'acc' or 'value', got {output!r}")

    def lut(self, n: int) -> _np.ndarray:
        """The 256 outputs of the table at scale n: lut[q + 128] = acc(q) * 2^-L (float64)."""
        return self.apply(_np.arange(-128, 128, dtype=_np.int8), n, output="value")


# ---------------------------------------------------------------- entry points

def load(path: Union[str, _os.PathLike]) -> TableSet:
    """Reads a table file: gqalut's, or an official GQA-LUT file (read as Q1.6)."""
    if not isinstance(path, (str, _os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return TableSet(_core.load(_os.fspath(path)))


def loads(text: str, source: str = "<string>") -> TableSet:
    """Parses table JSON text (``source`` names it in error messages)."""
    return TableSet(_core.loads(_text(text, "text"), source))


def fit(func: Optional[str] = None, *, expr: Optional[str] = None, range: Optional[Sequence[float]] = None,
        entries: int = 8, method: str = "ga", scales: Scales = "0:6", format: str = "q1.6",
        slope_format: Optional[str] = None, intercept_format: Optional[str] = None, objective: str = "mse",
        shared: bool = False, seed: Optional[int] = None, tie: Optional[str] = None, **settings: Any) -> TableSet:
    """Searches a quantization-aware table (the library's search methods).

    func: a built-in function name (``gqalut.functions()``: gelu, hswish, silu, sigmoid,
    tanh, exp, reci, rsqrt, ...); or expr: a muparser expression of x with range=(lo, hi).
    range: the range the table is fitted and measured on (default: the function's).
    entries: K segments in [2, 64]. method: a registry name (``gqalut.methods()``):
    "ga" / "ga-improved", "ga-faithful" / "faithful", "optimal", "uniform", "nnlut".
    scales: input scales n (x = q 2^-n): "0:6", 5, [0, 2, 4] or range(7).
    format: slope and intercept code format "q1.6" | "q2.5" | "qI.F" | "auto";
    slope_format / intercept_format override it. objective: "mse" | "max".
    shared: one coefficient set for all scales (optimal, uniform, ga-improved).
    seed: the seed of a random method (ga*, nnlut). tie: the segment rule the table
    is made for ("right": q >= P goes right, SPEC; "left": q > P, torch.bucketize).
    settings: further method settings by name (e.g. generations=100, population=20,
    rounding_mutation=False, breakpoint_range=(-3, 3)); unknown ones raise ValueError.
    """
    if func is not None and not isinstance(func, str):
        raise TypeError(f"func must be a function name (str), got {type(func).__name__}; "
                        "for your own function give expr=\"...\" with range=(lo, hi)")
    if isinstance(entries, bool) or not isinstance(entries, (int, _np.integer)):
        raise TypeError(f"entries must be an int, got {type(entries).__name__}")
    if not isinstance(shared, bool):
        raise TypeError(f"shared must be True or False, got {type(shared).__name__}")
    opts: Dict[str, Any] = {}
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, _np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        opts["seed"] = int(seed)
    for k, v in settings.items():
        if isinstance(v, tuple):
            v = list(v)
        if isinstance(v, _np.generic):
            v = v.item()
        opts[k] = v
    fmt = _text(format, "format")
    opts_tie = _text(tie, "tie") if tie is not None else ""
    core = _core.fit(func or "", _text(expr, "expr") if expr is not None else "", _range(range), int(entries),
                     _text(method, "method"), _scales(scales), slope_format or fmt, intercept_format or fmt,
                     _text(objective, "objective"), shared, _json.dumps(opts), opts_tie)
    return TableSet(core)


def methods() -> List[Dict[str, Any]]:
    """The search-method registry: name, aliases, help and settings of each method."""
    return _json.loads(_core.methods_json())


def functions() -> List[str]:
    """The built-in function names."""
    return list(_core.functions())


def official_recipe(func: str, entries: int = 8) -> Dict[str, Any]:
    """The official GQA-LUT trainer's recipe for a function and entry count (ranges, breakpoint
    range, outer points, rounding mutation on/off, decimal bits and offset, exported scales)."""
    return dict(_core.official_recipe(_text(func, "func"), int(entries)))


def isa() -> str:
    """The instruction set the kernels use (GQALUT_ISA=scalar|avx2|avx512 forces one)."""
    return _core.isa()


# ---------------------------------------------------------------- integer operations

def _frac(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, _np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


def _set(value: Any, name: str) -> "_core.TableSet":
    if not isinstance(value, TableSet):
        raise TypeError(f"{name} must be a gqalut.TableSet, got {type(value).__name__}")
    return value._s


def softmax(logits: _np.ndarray, exp_table: TableSet, div_table: TableSet, in_frac: int,
            out_frac: int = 8) -> _np.ndarray:
    """The library's integer softmax over the last axis.

    logits: int8 or int32 codes at 2^-in_frac, any shape (rows = last axis).
    exp_table: the EXP-stage table set (see docs/intops.md for the function it must
    approximate), div_table: a reciprocal set. Returns uint8 probability codes at
    2^-out_frac (saturated to 255).
    """
    x = _int8_array(logits, "logits", (_np.int8, _np.int32))
    plan = _core.prepare_softmax(_set(exp_table, "exp_table"), _set(div_table, "div_table"),
                                 _frac(in_frac, "in_frac"), _frac(out_frac, "out_frac"))
    return _core.softmax_s8(plan, x) if x.dtype == _np.int8 else _core.softmax_s32(plan, x)


def layernorm(x: _np.ndarray, gamma: _np.ndarray, beta: _np.ndarray, rsqrt_table: TableSet, in_frac: int,
              out_frac: int = 4, gamma_frac: int = 6, eps: float = 1e-5) -> _np.ndarray:
    """The library's integer LayerNorm over the last axis.

    x: int8 codes at 2^-in_frac, any shape; gamma: int8 codes at 2^-gamma_frac and
    beta: int32 codes at 2^-out_frac, one per element of the last axis. Returns
    int8 codes at 2^-out_frac.
    """
    xa = _int8_array(x, "x")
    g = _int8_array(gamma, "gamma")
    b = _int8_array(beta, "beta", (_np.int32,))
    plan = _core.prepare_layernorm(_set(rsqrt_table, "rsqrt_table"), _frac(in_frac, "in_frac"),
                                   _frac(out_frac, "out_frac"), _frac(gamma_frac, "gamma_frac"), float(eps))
    return _core.layernorm_s8(plan, xa, g.reshape(-1), b.reshape(-1))


def activation(x: _np.ndarray, table: TableSet, in_frac: int, out_frac: int) -> _np.ndarray:
    """An element-wise table activation int8 -> int8: the table at scale in_frac, output
    requantized to 2^-out_frac (rounded half away from zero, saturated). Any shape."""
    xa = _int8_array(x, "x")
    plan = _core.prepare_activation(_set(table, "table"), _frac(in_frac, "in_frac"), _frac(out_frac, "out_frac"))
    return _core.activation_s8(plan, xa)
