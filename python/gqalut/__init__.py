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
dtypes), always one line naming the parameter, the rule and the value: every
argument is checked here before it reaches the C++ layer (integers against their
range, so nothing is truncated to a C int; numbers finite; text valid Unicode
without NUL; paths without NUL). Arrays must have the documented dtype exactly (no
silent casts); an array that is not C-contiguous is copied once into a contiguous one
(never refused); a 0-d array gives a 0-d result.

Input codes outside a table's input width b_in (``Table.input_bits``) saturate to
[-2^(b_in-1), 2^(b_in-1) - 1] before the lookup: the rule of the exported C header
(docs/export.md), in ``apply``, ``lut``, ``eval_acc``, ``activation`` and ``gqalut.torch``.
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
# The checked conversion layer: every public function passes its arguments through these
# before calling _core, so pybind11's "incompatible function arguments" and C int
# truncation never reach the user. Messages: one line, "NAME must be RULE, got VALUE".

_INT32 = (-2 ** 31, 2 ** 31 - 1)
_UINT64_MAX = 2 ** 64 - 1


def _type_name(value: Any) -> str:
    return type(value).__name__


def _shown(value: Any, text: Optional[str] = None) -> str:
    """The value as a message shows it: whole up to 60 characters, else its ends and its length."""
    t = repr(value) if text is None else text
    return t if len(t) <= 60 else f"{t[:28]}...{t[-20:]} ({len(t)} characters)"


def _int(value: Any, name: str, lo: int = _INT32[0], hi: int = _INT32[1], rule: Optional[str] = None) -> int:
    """An int (Python or numpy integer, not bool) in [lo, hi]; `rule` replaces "[lo, hi]" in the message."""
    if isinstance(value, bool) or not isinstance(value, (int, _np.integer)):
        raise TypeError(f"{name} must be an int, got {_type_name(value)} {_shown(value)}")
    v = int(value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {rule or f'[{lo}, {hi}]'}, got {_shown(v, str(v))}")
    return v


def _real(value: Any, name: str) -> float:
    """A finite real number (int, float or numpy scalar, not bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, _np.integer, _np.floating)):
        raise TypeError(f"{name} must be a number, got {_type_name(value)} {_shown(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number, got {_shown(value, str(value))}") from None
    if not _np.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v}")
    return v


def _scale_n(value: Any, name: str, scales: List[int]) -> int:
    """A scale n the set holds (the library's message for one it lacks, whatever the size of n)."""
    if isinstance(value, bool) or not isinstance(value, (int, _np.integer)):
        raise TypeError(f"{name} must be an int (the input scale), got {_type_name(value)} {_shown(value)}")
    v = int(value)
    if v not in scales:
        raise ValueError(f"table has no scale n = {_shown(v, str(v))} (has {','.join(str(s) for s in scales)})")
    return v


def _scales(scales: Scales) -> List[int]:
    """'0:6', 5, [0, 2, 4] or range(7) -> sorted list of ints (the library's rules)."""
    if scales is None:
        return []
    if isinstance(scales, str):
        return list(_core.parse_scales(_text(scales, "scales")))
    if isinstance(scales, (int, _np.integer)) and not isinstance(scales, bool):
        return list(_core.parse_scales(str(_int(scales, "scales", 0, _core.MAX_SCALE))))
    try:
        items = list(scales)
    except TypeError:
        raise TypeError(f"scales must be a string like '0:6', an int or a sequence of ints, got {type(scales).__name__}")
    for s in items:
        if isinstance(s, bool) or not isinstance(s, (int, _np.integer)):
            raise TypeError(f"scales must be ints, got {_shown(s)}")
    if not items:
        raise ValueError("scales must not be empty")
    return list(_core.parse_scales(",".join(str(_int(s, "scales", 0, _core.MAX_SCALE)) for s in items)))


def _range(range_: Optional[Sequence[float]]) -> List[float]:
    if range_ is None:
        return []
    if isinstance(range_, (str, bytes)):
        raise TypeError(f"range must be two numbers (lo, hi), got {_shown(range_)}")
    try:
        items = list(range_)
    except TypeError:
        raise TypeError(f"range must be two numbers (lo, hi), got {_shown(range_)}") from None
    if len(items) != 2:
        raise ValueError(f"range must be (lo, hi), got {len(items)} numbers")
    return [_real(v, "range") for v in items]


def _int8_array(q: Any, name: str = "q", dtypes: Tuple[Any, ...] = (_np.int8,)) -> _np.ndarray:
    """The array as C-contiguous with one of `dtypes` exactly; copies a strided array."""
    if not isinstance(q, _np.ndarray):
        raise TypeError(f"{name} must be a numpy array of dtype {' or '.join(_np.dtype(d).name for d in dtypes)}, "
                        f"got {type(q).__name__}")
    if q.dtype not in [_np.dtype(d) for d in dtypes]:
        raise TypeError(f"{name} must have dtype {' or '.join(_np.dtype(d).name for d in dtypes)}, got {q.dtype} "
                        f"(convert explicitly, e.g. {name}.astype(np.int8), after checking the range)")
    # np.ascontiguousarray would turn a 0-d array into shape (1,): copy only a strided array.
    return q if q.flags.c_contiguous else q.copy(order="C")


def _text(value: Any, name: str) -> str:
    """A str the C++ layer takes whole: valid Unicode (no lone surrogate) and no NUL (which C
    would read as the end)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_type_name(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{name} must be valid Unicode text, got {_shown(value)} "
                         f"(a lone surrogate at index {e.start})") from None
    if "\0" in value:
        raise ValueError(f"{name} must not contain a NUL character, got {_shown(value)}")
    return value


def _path(value: Any, name: str = "path") -> bytes:
    """str, bytes or os.PathLike -> the file name's bytes (os.fsencode: any name the OS can
    hold, surrogate-escaped ones too), refused if it holds NUL (C would cut it there)."""
    if not isinstance(value, (str, bytes, _os.PathLike)):
        raise TypeError(f"{name} must be a str, bytes or os.PathLike, got {_type_name(value)}")
    raw = _os.fspath(value)
    if not isinstance(raw, (str, bytes)):
        raise TypeError(f"{name} must be a str, bytes or os.PathLike, got {_type_name(raw)}")
    try:
        data = _os.fsencode(raw)
    except UnicodeEncodeError as e:
        raise ValueError(f"{name} must be a file name the OS can encode, got {_shown(raw)} "
                         f"(character {e.start} cannot be encoded)") from None
    if b"\0" in data:
        raise ValueError(f"{name} must not contain a NUL character, got {_shown(raw)}")
    if not data:
        raise ValueError(f"{name} must not be empty")
    return data


def _saturate(q: int, bits: int) -> int:
    """The out-of-width rule: a code saturates to the table's input width."""
    return min(max(q, -(1 << (bits - 1))), (1 << (bits - 1)) - 1)


# ---------------------------------------------------------------- tables

class Table:
    """One table at one input scale 2^-n (read-only view of the C++ Table).

    Attributes: ``n``, ``breakpoints`` (codes P_i), ``slopes`` (codes K_i),
    ``intercepts`` (codes B_i), ``slope_format`` / ``intercept_format`` (``"q1.6"``),
    ``entries``, ``shift`` (L: output = acc * 2^-L), ``tie`` (segment rule),
    ``input_bits`` (b_in: the input codes are [-2^(b_in-1), 2^(b_in-1) - 1]; others saturate).
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
    input_bits = property(lambda self: self._t.input_bits)

    @property
    def tie(self) -> str:
        """The segment rule: ``"right"`` (q >= P goes right, SPEC) or ``"left"`` (q > P)."""
        return self._t.tie

    def eval_acc(self, q: int) -> int:
        """The scalar evaluator (the oracle): the accumulator of code q (an int; a code outside
        the table's input width saturates to it first, as in :meth:`TableSet.apply`)."""
        if isinstance(q, bool) or not isinstance(q, (int, _np.integer)):
            raise TypeError(f"q must be an int (an input code), got {_type_name(q)} {_shown(q)}")
        return self._t.eval_acc(_saturate(int(q), self._t.input_bits))

    def eval_value(self, q: int) -> float:
        """acc * 2^-L of code q (exact)."""
        return self.eval_acc(q) * 2.0 ** -self._t.shift

    def __reduce__(self):
        # pickle / copy: the owning set (as its JSON text) and the scale.
        return (_table_at, (self._owner, self.n))

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

    def __reduce__(self):
        # pickle, copy.deepcopy and torch.save: the set travels as the JSON text save() writes
        # (every table, scale and metadata field; loads() reads back the same set).
        return (loads, (self.dumps(), "<pickled TableSet>"))

    def __getitem__(self, n: int) -> Table:
        return Table(self._s.at(_scale_n(n, "scale n", self.scales)), self)

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
        _core.save(self._s, _path(path))

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
        return _json.loads(_core.evaluate_json(self._s, _text(func, "func") if func is not None else "",
                                               _text(expr, "expr") if expr is not None else "", _range(range),
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
        array is copied once (contiguous), other dtypes raise TypeError. Codes outside
        the table's input width (``set[n].input_bits``) saturate to its ends first.
        output: ``"acc"`` -> int32 accumulators (value = acc * 2^-L, L = set[n].shift);
        ``"value"`` -> float64 values acc * 2^-L (exact). out: an int32 C-contiguous
        array of q's size to write the accumulators into (output="acc" only).
        """
        table = self._s.at(_scale_n(n, "n", self.scales))
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
        raise ValueError(f"output must be 'acc' or 'value', got {_shown(output)}")

    def lut(self, n: int) -> _np.ndarray:
        """The 256 outputs of the table at scale n: lut[q + 128] = acc(q) * 2^-L (float64)."""
        return self.apply(_np.arange(-128, 128, dtype=_np.int8), n, output="value")


# ---------------------------------------------------------------- entry points

def _table_at(owner: TableSet, n: int) -> Table:
    return owner[n]


def load(path: Union[str, _os.PathLike]) -> TableSet:
    """Reads a table file: gqalut's, or an official GQA-LUT file (read as Q1.6)."""
    return TableSet(_core.load(_path(path)))


def loads(text: str, source: str = "<string>") -> TableSet:
    """Parses table JSON text (``source`` names it in error messages)."""
    return TableSet(_core.loads(_text(text, "text"), _text(source, "source")))


# Ranges the C++ layer enforces too, checked here first so that a Python int too wide for a C
# int is refused with its own value (the CLI's ranges where it has the option: --generations,
# --population, --seed, --entries); other integer settings must fit a C int and the library
# checks their range.
_SETTING_RANGES = {"seed": (0, _UINT64_MAX, "[0, 2^64 - 1]"), "generations": (0, 1_000_000, None),
                   "population": (2, 100_000, None)}


def _setting(method: str, key: str, value: Any, kind: Optional[str]) -> Any:
    """One method setting as JSON-ready Python: tuples -> lists, numpy scalars -> Python, integers
    in range, numbers finite (JSON has no NaN/Inf); a key the method lacks or a value of the wrong
    type is left for the library's message."""
    where = f"setting '{key}' of method '{method}'"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, _np.generic):
        value = value.item()
    if isinstance(value, list):
        return [v if isinstance(v, int) and -2 ** 63 <= v < 2 ** 63 else _setting(method, key, v, None)
                for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return _text(value, where) if isinstance(value, str) else value
    if isinstance(value, int) and kind == "an integer":
        lo, hi, rule = _SETTING_RANGES.get(key, (_INT32[0], _INT32[1], None))
        return _int(value, where, lo, hi, rule)
    if isinstance(value, (int, float)):
        return _real(value, where)  # a number where an integer belongs: the library says so
    raise TypeError(f"{where} must be a number, a string, True/False or two numbers, got {_type_name(value)}")


def _method_setting_types(method: str) -> Tuple[str, Dict[str, str]]:
    """The canonical name of `method` and the type of each of its settings ("an integer", ...)."""
    name = _core.find_method(method)
    for m in methods():
        if m["name"] == name:
            return name, {s["name"]: s["type"] for s in m["settings"]}
    return name, {}


def fit(func: Optional[str] = None, *, expr: Optional[str] = None, range: Optional[Sequence[float]] = None,
        entries: int = 8, method: str = "ga", scales: Scales = "0:6", format: str = "q1.6",
        slope_format: Optional[str] = None, intercept_format: Optional[str] = None, objective: str = "mse",
        shared: bool = False, seed: Optional[int] = None, tie: Optional[str] = None, input_bits: int = 8,
        **settings: Any) -> TableSet:
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
    seed: the seed of a random method (ga*, nnlut), in [0, 2^64 - 1]. tie: the segment rule
    the table is made for ("right": q >= P goes right, SPEC; "left": q > P, torch.bucketize).
    input_bits: the input code width b_in, 2..8 or 16 (``gqalut fit --input-bits``).
    settings: further method settings by name (e.g. generations=100 in [0, 1000000],
    population=20 in [2, 100000], rounding_mutation=False, breakpoint_range=(-3, 3)); unknown
    ones raise ValueError, integers must fit their range and numbers must be finite.
    """
    if func is not None:
        if not isinstance(func, str):
            raise TypeError(f"func must be a function name (str), got {_type_name(func)}; "
                            "for your own function give expr=\"...\" with range=(lo, hi)")
        _text(func, "func")
    n_entries = _int(entries, "entries", 2, _core.MAX_ENTRIES)
    if not isinstance(shared, bool):
        raise TypeError(f"shared must be True or False, got {_type_name(shared)}")
    bits = _int(input_bits, "input_bits", 2, 16, "2..8 or 16")
    if 8 < bits < 16:
        raise ValueError(f"input_bits must be 2..8 or 16, got {bits}")
    name, kinds = _method_setting_types(_text(method, "method"))
    opts: Dict[str, Any] = {}
    if seed is not None:
        opts["seed"] = _int(seed, "seed", 0, _UINT64_MAX, "[0, 2^64 - 1]")
    for k, v in settings.items():
        opts[k] = _setting(name, k, v, kinds.get(k))
    fmt = _text(format, "format")
    sfmt = _text(slope_format, "slope_format") if slope_format is not None else fmt
    ifmt = _text(intercept_format, "intercept_format") if intercept_format is not None else fmt
    opts_tie = _text(tie, "tie") if tie is not None else ""
    core = _core.fit(func or "", _text(expr, "expr") if expr is not None else "", _range(range), n_entries,
                     name, _scales(scales), sfmt, ifmt, _text(objective, "objective"), shared,
                     _json.dumps(opts, allow_nan=False), opts_tie, bits)
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
    return dict(_core.official_recipe(_text(func, "func"), _int(entries, "entries", 2, _core.MAX_ENTRIES)))


def isa() -> str:
    """The instruction set the kernels use (GQALUT_ISA=scalar|avx2|avx512 forces one)."""
    return _core.isa()


# ---------------------------------------------------------------- integer operations

# The ranges of the library's datapaths (src/kernels/intops.cpp and plan.cpp check the same;
# `gqalut ops --in-frac` / `--out-frac` take the softmax and LayerNorm ones).
_SOFTMAX_IN_FRAC, _SOFTMAX_OUT_FRAC = (0, 20), (1, 15)
_LAYERNORM_FRAC = (0, 15)
_ACTIVATION_OUT_FRAC = (0, 31)


def _frac(value: Any, name: str, bounds: Tuple[int, int]) -> int:
    return _int(value, name, bounds[0], bounds[1])


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
                                 _frac(in_frac, "in_frac", _SOFTMAX_IN_FRAC),
                                 _frac(out_frac, "out_frac", _SOFTMAX_OUT_FRAC))
    return _core.softmax_s8(plan, x) if x.dtype == _np.int8 else _core.softmax_s32(plan, x)


def layernorm(x: _np.ndarray, gamma: _np.ndarray, beta: _np.ndarray, rsqrt_table: TableSet, in_frac: int,
              out_frac: int = 4, gamma_frac: int = 6, eps: float = 1e-5) -> _np.ndarray:
    """The library's integer LayerNorm over the last axis.

    x: int8 or int16 codes at 2^-in_frac, any shape; gamma: int8 codes at 2^-gamma_frac
    and beta: int32 codes at 2^-out_frac, one per element of the last axis. Returns codes
    at 2^-out_frac of x's type: int8 (the datapath of the kernels and hardware units) or
    int16 (the 16-bit LayerNorm: the same stages with the exact int64 output form, rows
    up to 65,536 elements).
    """
    xa = _int8_array(x, "x", (_np.int8, _np.int16))
    g = _int8_array(gamma, "gamma")
    b = _int8_array(beta, "beta", (_np.int32,))
    plan = _core.prepare_layernorm(_set(rsqrt_table, "rsqrt_table"), _frac(in_frac, "in_frac", _LAYERNORM_FRAC),
                                   _frac(out_frac, "out_frac", _LAYERNORM_FRAC),
                                   _frac(gamma_frac, "gamma_frac", _LAYERNORM_FRAC), _real(eps, "eps"))
    f = _core.layernorm_s8 if xa.dtype == _np.int8 else _core.layernorm_s16
    return f(plan, xa, g.reshape(-1), b.reshape(-1))


def activation(x: _np.ndarray, table: TableSet, in_frac: int, out_frac: int) -> _np.ndarray:
    """An element-wise table activation int8 -> int8: the table at scale in_frac, output
    requantized to 2^-out_frac (rounded half away from zero, saturated). Any shape. Codes outside
    the table's input width saturate to it first (as in :meth:`TableSet.apply`)."""
    xa = _int8_array(x, "x")
    core = _set(table, "table")
    n = _scale_n(in_frac, "in_frac", table.scales)
    plan = _core.prepare_activation(core, n, _frac(out_frac, "out_frac", _ACTIVATION_OUT_FRAC))
    bits = table[n].input_bits
    if bits < 8:  # the out-of-width rule, on a copy
        xa = _np.clip(xa, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, out=_np.empty_like(xa))
    return _core.activation_s8(plan, xa)
