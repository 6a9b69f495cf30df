"""gqalut's Python API against the C++ library: fit/load/save/eval (equal to `gqalut eval --json`),
apply through the kernels (equal to the scalar evaluator on every code), the registry, errors."""
import json
import subprocess

import numpy as np
import pytest

import gqalut

METHODS = ["optimal", "ga-improved", "ga-faithful", "uniform", "nnlut"]
CODES8 = np.arange(-128, 128, dtype=np.int8)


@pytest.fixture(scope="module")
def sets():
    # Small searches: enough to give every method's kind of table, quick to run.
    fast = {"ga-improved": dict(generations=40, population=20), "ga-faithful": dict(generations=40, population=20),
            "nnlut": dict(epochs=5, samples=5000)}
    return {m: gqalut.fit("gelu", entries=8, method=m, **fast.get(m, {})) for m in METHODS}


def run_cli(cli, *args):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("method", METHODS)
def test_eval_equals_cli(sets, cli, tmp_path, method):
    t = sets[method]
    path = tmp_path / f"{method}.json"
    t.save(path)
    for protocol in ("int", "grid"):
        rc, out, err = run_cli(cli, "eval", "--table", str(path), "--protocol", protocol, "--json")
        assert rc == 0, err
        want = json.loads(out)
        got = t.eval(protocol=protocol)
        assert got == want  # every key; n, points, mse, max_abs_error exactly
    assert t.paper_score == t.eval()["paper_score"]
    # The loaded file is the same table set.
    back = gqalut.load(path)
    assert back.dumps() == t.dumps()
    assert back.eval() == t.eval()


def test_fit_matches_cli(cli, tmp_path):
    path = tmp_path / "o.json"
    rc, _, err = run_cli(cli, "fit", "--func", "hswish", "--method", "optimal", "--entries", "6", "--scales", "2:5",
                         "-q", "-o", str(path))
    assert rc == 0, err
    mine = gqalut.fit("hswish", method="optimal", entries=6, scales="2:5")
    theirs = gqalut.load(path)
    for n in (2, 3, 4, 5):
        assert (mine[n].breakpoints, mine[n].slopes, mine[n].intercepts) == \
               (theirs[n].breakpoints, theirs[n].slopes, theirs[n].intercepts)
    assert mine.eval() == theirs.eval()


@pytest.mark.parametrize("method", METHODS)
def test_apply_equals_evaluator_on_every_code(sets, method):
    t = sets[method]
    for n in t.scales:
        table = t[n]
        want = np.array([table.eval_acc(int(q)) for q in CODES8], dtype=np.int64)
        acc = t.apply(CODES8, n)
        assert acc.dtype == np.int32 and acc.shape == CODES8.shape
        assert np.array_equal(acc.astype(np.int64), want)
        val = t.apply(CODES8, n, output="value")
        assert val.dtype == np.float64
        assert np.array_equal(val, want * 2.0 ** -table.shift)
        assert np.array_equal(t.lut(n), val)


def test_apply_shapes_strides_out_and_int16(sets):
    t = sets["optimal"]
    rng = np.random.default_rng(1)
    q = rng.integers(-128, 128, size=(3, 5, 7), dtype=np.int8)
    lut = t.apply(CODES8, 4)
    assert np.array_equal(t.apply(q, 4), lut[q.astype(np.int64) + 128])
    strided = q[:, ::2, 1:]
    assert not strided.flags.c_contiguous
    assert np.array_equal(t.apply(strided, 4), lut[strided.astype(np.int64) + 128])  # copied, documented
    out = np.empty(q.shape, dtype=np.int32)
    r = t.apply(q, 4, out=out)
    assert r is out and np.array_equal(out, lut[q.astype(np.int64) + 128])
    assert t.apply(np.zeros((0,), np.int8), 4).shape == (0,)
    # int16 codes: the 16-bit kernel, equal to the evaluator.
    q16 = np.arange(-128, 128, dtype=np.int16)
    assert np.array_equal(t.apply(q16, 4), lut)


def test_tie_rule(tmp_path):
    right = gqalut.fit("gelu", method="optimal", scales="3:5")
    left = gqalut.fit("gelu", method="optimal", scales="3:5", tie="left")
    assert right.tie == "right" and left.tie == "left"
    for n in (3, 4, 5):
        assert left[n].tie == "left"
        # apply honours the rule: the kernels equal the evaluator under the table's own rule.
        want = np.array([left[n].eval_acc(int(q)) for q in CODES8])
        assert np.array_equal(left.apply(CODES8, n), want)
    # the optimum is the same function under either rule
    assert left.paper_score == pytest.approx(right.paper_score, rel=1e-12)
    p = tmp_path / "left.json"
    left.save(p)
    assert gqalut.load(p).tie == "left"


def test_registry_and_recipe():
    ms = {m["name"]: m for m in gqalut.methods()}
    assert list(ms) == ["optimal", "uniform", "ga-improved", "ga-faithful", "nnlut"]
    assert "ga" in ms["ga-improved"]["aliases"] and "faithful" in ms["ga-faithful"]["aliases"]
    assert {s["name"] for s in ms["nnlut"]["settings"]} >= {"seed", "epochs", "samples"}
    assert ms["optimal"]["settings"] == []
    r = gqalut.official_recipe("gelu", 8)
    assert r["rm_offset"] == 2 and r["range"] == (-4.0, 4.0) and r["rounding_mutation"] is True
    assert gqalut.official_recipe("gelu", 16)["rm_offset"] == 0
    assert gqalut.official_recipe("rsqrt", 8)["breakpoint_range"] == (0.25, 3.875)
    assert gqalut.official_recipe("exp", 16)["breakpoint_range"] == (-6.5, 0.0)
    assert gqalut.official_recipe("reci", 8)["rounding_mutation"] is False


def test_fit_settings_and_expr():
    a = gqalut.fit("gelu", method="ga", seed=3, generations=30, population=12, scales=[4, 5])
    b = gqalut.fit("gelu", method="ga-improved", seed=3, generations=30, population=12, scales=[4, 5])
    assert a.dumps() == b.dumps() and a.meta["seed"] == 3
    u = gqalut.fit(expr="x*tanh(log(1+exp(x)))", range=(-4, 4), method="uniform", entries=4, scales=5)
    assert u.expression and u.scales == [5] and u.entries == 4
    s = gqalut.fit("gelu", method="optimal", shared=True, scales=range(3, 6))
    assert s.scales == [3, 4, 5]


def test_official_file(official_dir, cli):
    path = official_dir / "gelu_pwl_7.json"
    t = gqalut.load(path)
    assert t.function == "gelu" and t.entries == 8
    e = t.eval(scales="4:6")
    assert [s["n"] for s in e["scales"]] == [4, 5, 6]
    assert e["paper_score"] == pytest.approx(8.550e-05, rel=1e-3)  # README's measured figure
    # No recorded rule: the trainer's (right) with the op's (left) beside it, as the CLI says.
    for args, kw in (([], {}), (["--tie", "left"], {"tie": "left"}), (["--protocol", "grid"], {"protocol": "grid"})):
        rc, out, err = run_cli(cli, "eval", "--table", str(path), "--json", *args)
        assert rc == 0, err
        assert t.eval(**kw) == json.loads(out)
    assert e["tie_recorded"] is False and e["other_tie_rule"]["tie_rule"] == "left"


def test_eval_tie_only_for_sets_without_a_rule(sets):
    with pytest.raises(ValueError, match="tie applies to files that do not record a tie rule .official files.; this table set records tie rule"):
        sets["optimal"].eval(tie="left")
    assert sets["optimal"].eval(tie="right") == sets["optimal"].eval()


# ---------------------------------------------------------------- errors

def test_errors_carry_the_library_message(sets, tmp_path):
    t = sets["optimal"]
    with pytest.raises(TypeError, match="q must have dtype int8 or int16, got float32"):
        t.apply(np.zeros(4, np.float32), 3)
    with pytest.raises(TypeError, match="numpy array"):
        t.apply([1, 2, 3], 3)
    with pytest.raises(TypeError, match="int32"):
        t.apply(CODES8, 3, out=np.empty(256, np.int64))
    with pytest.raises(ValueError, match="out has 255 elements, q has 256"):
        t.apply(CODES8, 3, out=np.empty(255, np.int32))
    with pytest.raises(ValueError, match=r"table has no scale n = 9 \(has 0,1,2,3,4,5,6\)"):
        t.apply(CODES8, 9)
    with pytest.raises(ValueError, match="table has no scale n = 9"):
        t.eval(scales=9)
    with pytest.raises(ValueError, match="output must be 'acc' or 'value'"):
        t.apply(CODES8, 3, output="float")
    with pytest.raises(ValueError, match="unknown function 'gleu'"):
        gqalut.fit("gleu")
    with pytest.raises(ValueError, match="unknown method 'magic' \\(known: optimal"):
        gqalut.fit("gelu", method="magic")
    with pytest.raises(ValueError, match="method 'optimal' has no setting 'seed' \\(it takes none\\)"):
        gqalut.fit("gelu", method="optimal", seed=3)
    with pytest.raises(ValueError, match="method 'nnlut' has no setting 'generations'"):
        gqalut.fit("gelu", method="nnlut", generations=3)
    with pytest.raises(ValueError, match="setting 'generations' of method 'ga-improved' must be an integer"):
        gqalut.fit("gelu", generations="many")
    with pytest.raises(ValueError, match=r"entries must be an integer in \[2, 64\], got 300"):
        gqalut.fit("gelu", entries=300)
    with pytest.raises(ValueError, match="range must satisfy lo < hi"):
        gqalut.fit("gelu", range=(1, 1))
    with pytest.raises(ValueError, match="rsqrt is not finite on"):
        gqalut.fit("rsqrt", range=(-4, 4))
    with pytest.raises(ValueError, match="expression 'x\\+' is invalid"):
        gqalut.fit(expr="x+", range=(-1, 1))
    with pytest.raises(ValueError, match="format must be qI.F"):
        gqalut.fit("gelu", format="q9.9")
    with pytest.raises(ValueError, match="protocol must be int or grid"):
        t.eval(protocol="exact")
    with pytest.raises(ValueError, match="objective and shared apply to methods optimal, uniform, ga-improved, "
                                          "not to 'nnlut'"):
        gqalut.fit("gelu", method="nnlut", shared=True)
    with pytest.raises(ValueError, match="tie"):
        gqalut.fit("gelu", method="optimal", tie="middle")
    with pytest.raises(TypeError, match="func must be a function name"):
        gqalut.fit(len)
    with pytest.raises(TypeError, match="entries must be an int"):
        gqalut.fit("gelu", entries=8.0)
    with pytest.raises(ValueError, match="cannot open table file '/nonexistent.json'"):
        gqalut.load("/nonexistent.json")
    bad = tmp_path / "trunc.json"
    bad.write_text(t.dumps()[:40])
    with pytest.raises(ValueError, match="malformed JSON"):
        gqalut.load(bad)


# ---------------------------------------------------------------- integer operations

def _requant(acc, L, out_frac):
    """SPEC's requantization: round half away from zero of acc * 2^(out_frac - L), saturated to int8."""
    v = acc * 2.0 ** (out_frac - L)
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r, -128, 127).astype(np.int8)


def test_activation_equals_requantized_evaluator():
    for func in ("gelu", "hswish", "silu"):
        t = gqalut.fit(func, method="optimal", scales="2:6")
        for n in t.scales:
            acc = np.array([t[n].eval_acc(int(q)) for q in CODES8], dtype=np.float64)
            for out_frac in (3, 5, 7):
                want = _requant(acc, t[n].shift, out_frac)
                got = gqalut.activation(CODES8.reshape(16, 16), t, n, out_frac)
                assert got.dtype == np.int8 and got.shape == (16, 16)
                assert np.array_equal(got.reshape(-1), want), (func, n, out_frac)


@pytest.fixture(scope="module")
def op_tables():
    exp_t = gqalut.fit("exp2m1", method="optimal", format="auto", scales=[8])
    div_t = gqalut.fit("reci", method="optimal", format="auto", scales=[5])
    rsqrt_t = gqalut.fit("rsqrt", method="optimal", scales="0:5")
    return exp_t, div_t, rsqrt_t


def test_softmax_and_layernorm_rows(op_tables):
    exp_t, div_t, rsqrt_t = op_tables
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, size=(2, 3, 40), dtype=np.int8)
    p = gqalut.softmax(x, exp_t, div_t, 4)
    assert p.dtype == np.uint8 and p.shape == x.shape
    for idx in np.ndindex(2, 3):  # every row is one softmax_row call
        assert np.array_equal(p[idx], gqalut.softmax(x[idx][None, :], exp_t, div_t, 4)[0])
    assert np.array_equal(gqalut.softmax(x.astype(np.int32), exp_t, div_t, 4), p)  # int32 logits agree
    ref = np.exp(x / 16.0 - (x / 16.0).max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    assert np.abs(p / 256.0 - ref).max() < 0.01
    assert np.array_equal(gqalut.softmax(x[:, :, ::2], exp_t, div_t, 4),
                          gqalut.softmax(np.ascontiguousarray(x[:, :, ::2]), exp_t, div_t, 4))
    gamma = rng.integers(32, 96, size=40, dtype=np.int8)
    beta = rng.integers(-8, 8, size=40).astype(np.int32)
    y = gqalut.layernorm(x, gamma, beta, rsqrt_t, in_frac=4)
    assert y.dtype == np.int8 and y.shape == x.shape
    xf = x / 16.0
    ref = (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + 1e-5) * (gamma / 64.0) + beta / 16.0
    assert np.abs(y / 16.0 - np.clip(ref, -8, 127 / 16)).max() < 0.2

    # the 16-bit LayerNorm: int16 codes in and out, the same stages; on int8 rows it agrees with the
    # int8 datapath within one output step, and on int16 rows within 0.51 LSB of LayerNorm of the codes
    y16 = gqalut.layernorm(x.astype(np.int16), gamma, beta, rsqrt_t, in_frac=4)
    assert y16.dtype == np.int16 and y16.shape == x.shape
    assert np.abs(y16.astype(np.int32) - y).max() <= 1
    x16 = rng.integers(-30000, 30000, size=(3, 4, 40)).astype(np.int16)
    y16 = gqalut.layernorm(x16, gamma, beta, rsqrt_t, in_frac=12, out_frac=10)
    xf = x16 / 4096.0
    ref = ((xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + 1e-5) * (gamma / 64.0)) * 1024 + beta
    assert np.abs(y16 - ref).max() < 0.51
    with pytest.raises(TypeError, match="x must have dtype int8 or int16, got int32"):
        gqalut.layernorm(x16.astype(np.int32), gamma, beta, rsqrt_t, 4)


def test_intops_errors(op_tables):
    exp_t, div_t, rsqrt_t = op_tables
    x = np.zeros((2, 8), np.int8)
    with pytest.raises(TypeError, match="logits must have dtype int8 or int32, got float64"):
        gqalut.softmax(x.astype(np.float64), exp_t, div_t, 4)
    with pytest.raises(TypeError, match="exp_table must be a gqalut.TableSet"):
        gqalut.softmax(x, "exp.json", div_t, 4)
    with pytest.raises(ValueError):
        gqalut.softmax(x, exp_t, div_t, 40)
    with pytest.raises(ValueError, match="gamma and beta must have 8 elements"):
        gqalut.layernorm(x, np.zeros(4, np.int8), np.zeros(8, np.int32), rsqrt_t, 4)
    with pytest.raises(TypeError, match="beta must have dtype int32"):
        gqalut.layernorm(x, np.zeros(8, np.int8), np.zeros(8, np.int64), rsqrt_t, 4)
    with pytest.raises(ValueError, match="last axis"):
        gqalut.softmax(np.zeros((2, 0), np.int8), exp_t, div_t, 4)
    with pytest.raises(ValueError, match="table has no scale n = 9"):
        gqalut.activation(x, exp_t, 9, 4)
