"""The official GQA-LUT PyTorch op, given the files gqalut writes, computes gqalut's function.

The op (``gqa_lut_pwl`` in the official repository's ``gqa_lut_op.py``) is not
needed: ``official_op`` below reproduces its forward arithmetic in torch, as the
op runs it on float32 tensors built from the JSON lists:

    power_bit = clip(-log2(scale), 0, decimal_bit); params = file[func][str(power_bit)]
    idx = torch.bucketize(q, breakpoints / scale)          # right=False: ties go left
    y   = (slopes[idx] * q + (intercepts / scale)[idx]) * scale
    out = (y - func(q * scale)).detach() + func(q * scale)  # straight-through term

For every method, both tie rules, 8 and 16 entries and every scale, the op's
``y`` equals ``gqalut eval --dump-codes``'s value on every int8 code, and the
op's per-scale MSE and max error (over the in-range codes, summed in gqalut's
order against gqalut's f(x)) equal ``gqalut eval --json``'s exactly.

Run standalone: ``/usr/bin/python3 -m pytest python/tests/test_official_op.py``
(GQALUT_CLI: the gqalut tool, default build/tools/gqalut from the repository root).
"""
import concurrent.futures
import json
import math
import os
import pathlib
import subprocess

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUNCS = ["gelu", "hswish", "exp"]
ENTRIES = [8, 16]
# CLI method name -> extra options keeping the run short where the method allows.
METHODS = {
    "ga": ["--generations", "40", "--population", "20"],
    "ga-improved": ["--generations", "25", "--population", "16", "--seed", "3"],
    "optimal": [],
    "faithful": ["--generations", "40", "--population", "20"],
    "nnlut": [],
    "uniform": [],
}
# The op's own table of functions (its STE term).
ACT = {"gelu": torch.nn.GELU(), "hswish": torch.nn.Hardswish(), "sigmoid": torch.nn.Sigmoid(), "exp": torch.exp}


def cli_path():
    p = os.environ.get("GQALUT_CLI") or str(ROOT / "build" / "tools" / "gqalut")
    if not pathlib.Path(p).exists():
        pytest.skip(f"gqalut CLI not found at {p} (set GQALUT_CLI)")
    return p


def run_cli(*args):
    r = subprocess.run([cli_path(), *args], capture_output=True, text=True)
    assert r.returncode == 0, f"gqalut {' '.join(args)}: {r.stderr}"
    return r.stdout


def official_op(params_by_scale, pwl_type, q, scale, decimal_bit=6):
    """The official op's forward on float32 codes q at a power-of-two scale tensor."""
    power_bit = -torch.log2(scale).int().item()
    power_bit = min(max(power_bit, 0), decimal_bit)
    params = params_by_scale[f"{power_bit}"]
    breakpoints = torch.tensor(params["breakpoints"])
    scaled_breakpoints = breakpoints / scale
    intercepts = torch.tensor(params["intercepts"])
    scaled_intercepts = intercepts / scale
    slopes = torch.tensor(params["slopes"])
    indices = torch.bucketize(q, scaled_breakpoints)
    pwl = slopes[indices] * q + scaled_intercepts[indices]
    y = pwl * scale
    f = ACT[pwl_type](q * scale)
    return y, (y - f).detach() + f


def gqalut_mse_max(values, f):
    """gqalut's per-scale figures: sequential double sums, as metrics.cpp."""
    sse, mx = 0.0, 0.0
    for v, fx in zip(values, f):
        e = v - fx
        sse += e * e
        mx = max(mx, abs(e))
    return (sse / len(values) if values else 0.0), mx


def files():
    out = []
    for fn in FUNCS:
        for k in ENTRIES:
            for m in METHODS:
                out.append((fn, k, m, "right"))
            for m in ("optimal", "ga", "uniform"):  # the left rule too (same file representation)
                out.append((fn, k, m, "left"))
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("op")
    cli_path()

    def fit(case):
        fn, k, m, tie = case
        path = d / f"{fn}_{k}_{m}_{tie}.json"
        run_cli("fit", "--func", fn, "-k", str(k), "--method", m, "--tie", tie, "-q", "-o", str(path), *METHODS[m])
        return case, path

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(fit, files()))


@pytest.mark.parametrize("case", files(), ids=lambda c: "-".join(map(str, c)))
def test_official_op_computes_gqaluts_function(written, case):
    fn, k, m, tie = case
    path = written[case]
    doc = json.loads(path.read_text())  # the file as the op loads it, unmodified
    assert doc["gqalut"]["tie"] == tie
    ev = json.loads(run_cli("eval", str(path), "--dump-codes"))
    assert ev["tie_rule"] == tie
    params = doc[fn]
    assert sorted(int(n) for n in params) == [s["n"] for s in ev["scales"]]
    for s in ev["scales"]:
        n, dump = s["n"], s["dump"]
        q = torch.tensor(dump["codes"], dtype=torch.float32)  # every int8 code
        y, ste = official_op(params, fn, q, torch.tensor(2.0 ** -n))
        assert y.dtype == torch.float32
        got = [float(v) for v in y]
        bad = [(c, g, w) for c, g, w in zip(dump["codes"], got, dump["value"]) if g != w]
        assert not bad, f"{case} n={n}: op differs from gqalut on {len(bad)} codes, first {bad[:3]}"
        at = {c: g for c, g in zip(dump["codes"], got)}
        mse, mx = gqalut_mse_max([at[c] for c in dump["range_codes"]], dump["f"])
        assert len(dump["range_codes"]) == s["points"]
        assert mse == s["mse"], f"{case} n={n}: op MSE {mse!r} vs gqalut {s['mse']!r}"
        assert mx == s["max_abs_error"], f"{case} n={n}: op max {mx!r} vs gqalut {s['max_abs_error']!r}"
        # The op's returned value adds its straight-through term, (y - f).detach() + f in float32:
        # on in-range codes that is y up to the float32 rounding of that sum (a few in 10^4 codes
        # differ, by about one unit in the last place of |y - f|), not a table effect.
        for c, fx in zip(dump["range_codes"], dump["f"]):
            i = c - dump["codes"][0]
            yv, sv = float(y[i]), float(ste[i])
            bound = 2.0 ** -23 * (abs(yv) + abs(fx)) + 2.0 ** -126
            assert abs(sv - yv) <= bound, f"{case} n={n} q={c}: STE forward {sv!r} vs y {yv!r}"


def test_left_and_right_fits_store_the_same_breakpoints(written):
    """Half codes: an optimum under either rule is one function, one file content."""
    for fn in FUNCS:
        for k in ENTRIES:
            r = json.loads(written[(fn, k, "optimal", "right")].read_text())
            l = json.loads(written[(fn, k, "optimal", "left")].read_text())
            assert r[fn] == l[fn]


def official_dir():
    shared = os.environ.get("GQALUT_SHARED_DIR") or str(ROOT.parent / "shared")
    d = pathlib.Path(shared) / "reference" / "official"
    if not d.is_dir():
        pytest.skip(f"no official tables at {d} (set GQALUT_SHARED_DIR)")
    return d


@pytest.mark.parametrize("name", ["gelu_pwl_7.json", "hswish_pwl_7.json", "exp_pwl_7.json"])
def test_eval_reports_official_files_as_the_op_deploys_them(name):
    """gqalut eval's 'other tie rule' figures of an official file are the op's."""
    path = official_dir() / name
    fn = name.split("_pwl_")[0]
    ev = json.loads(run_cli("eval", str(path), "--json"))
    assert ev["tie_recorded"] is False and ev["tie_rule"] == "right"
    deployed = ev["other_tie_rule"]
    assert deployed["tie_rule"] == "left"
    left = json.loads(run_cli("eval", str(path), "--tie", "left", "--dump-codes"))
    params = json.loads(path.read_text())[fn]
    for s, d in zip(left["scales"], deployed["scales"]):
        dump = s["dump"]
        q = torch.tensor(dump["codes"], dtype=torch.float32)
        y, _ = official_op(params, fn, q, torch.tensor(2.0 ** -s["n"]))
        assert [float(v) for v in y] == dump["value"]
        at = dict(zip(dump["codes"], (float(v) for v in y)))
        mse, mx = gqalut_mse_max([at[c] for c in dump["range_codes"]], dump["f"])
        assert (mse, mx) == (d["mse"], d["max_abs_error"])
    if fn == "gelu":  # the figures: 9.97e-5 as trained, 5.18e-4 in the op
        assert math.isclose(ev["paper_score"], 9.973e-5, rel_tol=1e-3)
        assert math.isclose(deployed["paper_score"], 5.180e-4, rel_tol=1e-3)
