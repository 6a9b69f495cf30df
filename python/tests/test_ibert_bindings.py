"""The I-BERT bindings (python/src/ibert_bindings.cpp over include/gqalut/ibert.hpp) and the
table recipes: each binding against the paper's integer formula written here independently,
exhaustively over int8 codes; wrong dtypes and bad values refused with one clear line."""

import math

import numpy as np
import pytest

import gqalut

core = gqalut._core


def i_exp_formula(q, f):
    s = 2.0 ** -f
    q_ln2 = math.floor(math.log(2) / s)
    qb, qc = math.floor(1.353 / s), math.floor(0.344 / (0.3585 * s * s))
    z = (-q) // q_ln2
    p = q + z * q_ln2
    return 0 if z > 62 else ((p + qb) ** 2 + qc) >> z


@pytest.mark.parametrize("f", [1, 4, 10, 20])
def test_exp_every_int8_difference(f):
    q = np.arange(-255, 1, dtype=np.int64)
    got = core.ibert_exp(q, f)
    assert got.dtype == np.int64
    assert [int(v) for v in got] == [i_exp_formula(int(v), f) for v in q]
    c = core.ibert_exp_constants(f)
    assert c["q_ln2"] == math.floor(math.log(2) * 2 ** f)


def test_softmax_rows_round_and_sum_to_one():
    rng = np.random.default_rng(5)
    logits = rng.integers(-128, 128, size=(20, 197)).astype(np.int8)
    for work in (-1, 4, 12):
        p = core.ibert_softmax(logits, 4, 8, work)
        assert p.dtype == np.uint8 and p.shape == logits.shape
        w = max(4, 10) if work < 0 else work
        for row, out in zip(logits.astype(np.int64), p):
            e = [i_exp_formula((int(v) - int(row.max())) << (w - 4), w) for v in row]
            s = sum(e)
            assert [int(v) for v in out] == [min((2 * x * 256 + s) // (2 * s), 255) for x in e]
            assert abs(int(out.sum()) - 256) <= len(row) // 2 + 1
    assert np.array_equal(core.ibert_softmax(logits.astype(np.int32), 4), core.ibert_softmax(logits, 4))


def test_gelu_every_code_close_to_gelu():
    q = np.arange(-128, 128, dtype=np.int8)
    y = core.ibert_gelu(q, 4, 5).astype(np.float64) / 32
    x = q.astype(np.float64) / 16
    exact = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    assert np.max(np.abs(y - np.clip(exact, -4, 127 / 32))) <= 1.2 / 32  # measured 1.10 LSB (gqalut ops gelu --method ibert)


def test_isqrt_exact_floor():
    v = np.arange(0, 1 << 16, dtype=np.uint64)
    assert np.array_equal(core.ibert_isqrt(v), np.array([math.isqrt(int(a)) for a in v], dtype=np.uint64))
    big = np.array([2 ** 64 - 1, 2 ** 62, 2 ** 62 - 1], dtype=np.uint64)
    assert [int(a) for a in core.ibert_isqrt(big)] == [math.isqrt(int(a)) for a in big]


def test_layernorm_rows_shape_and_refusals():
    x = np.random.default_rng(1).integers(-60, 60, size=(3, 64)).astype(np.int8)
    g = np.full(64, 64, np.int8)
    b = np.zeros(64, np.int32)
    y = core.ibert_layernorm(x, g, b, 4)
    assert y.dtype == np.int8 and y.shape == x.shape
    with pytest.raises(ValueError, match="gamma and beta must have 64 elements"):
        core.ibert_layernorm(x, g[:3], b, 4)
    with pytest.raises(TypeError):
        core.ibert_softmax(x.astype(np.int64), 4)  # no silent cast
    with pytest.raises(ValueError, match=r"I-BERT gelu in_frac must be in \[1, 10\], got 11"):
        core.ibert_gelu(x.ravel(), 11, 5)
    with pytest.raises(ValueError, match="ibert_exp takes codes q <= 0"):
        core.ibert_exp(np.array([1], dtype=np.int64), 4)


def test_recipes_are_the_libraries():
    names = [r["name"] for r in core.table_recipes()]
    assert names[:3] == ["exp2m1", "div", "rsqrt"]
    rsqrt = core.table_recipes()[2]
    assert rsqrt["function"] == "rsqrt" and rsqrt["scales"] == [5] and rsqrt["range"] == (0.25, 4.0)
    assert any(t["op"] == "softmax" and t["max_lsb"] == 1.5 for t in core.accuracy_targets())
