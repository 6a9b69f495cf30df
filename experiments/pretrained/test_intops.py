"""The study's integer sites without a model (issue 17): the product recipe for hard-swish and SiLU
(act_mode "product") and the 16-bit LayerNorm control, checked over every int16 code of a site."""

import math
import pathlib
import sys

import numpy as np
import pytest
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

gqalut = pytest.importorskip("gqalut")
import intops  # noqa: E402


def _stats(lo, hi):
    st = intops.SiteStats()
    st.add(torch.tensor([lo, hi]))
    return st


def _gate(kind, fmt="q1.14"):
    return gqalut.fit(entries=8, method="optimal", range=intops.FIT_RANGE[kind], scales=intops.ACT_SCALES_TEXT,
                      format=fmt, **intops._FIT_SPEC[kind])


@pytest.mark.parametrize("kind,absmax", [("hswish", 20.9), ("hswish", 3.7), ("silu", 13.1)])
def test_product_site_is_the_integer_product_over_every_code(kind, absmax):
    gate_kind = intops.PRODUCT_GATE[kind]
    t = _gate(gate_kind)
    site = intops.ProductSite(kind, t, _stats(-absmax, absmax))
    n = site.n
    assert 2.0 ** -n * 32767 >= absmax  # the finest scale that holds the calibrated range, up to MAX_SCALE
    assert n == intops.MAX_SCALE or absmax > 2.0 ** -n * 16383
    q = np.arange(-32768, 32768, dtype=np.int64)
    x = torch.from_numpy(q.astype(np.float64) * 2.0 ** -n)
    y = site(x).numpy()
    # the gate's accumulator from the library's evaluator on the same codes (the lifted table), times q
    k = 2 ** (n - site.site.n0)  # the gate reads codes saturated to its table's int8 domain at n0
    acc = site.site.t16.apply(np.clip(q, -128 * k, 127 * k).astype(np.int16), n).astype(np.int64)
    want = (q * acc).astype(np.float64) * 2.0 ** -(n + site.site.shift)
    assert np.array_equal(y, want)
    # and it is the function: the gate table's error (q1.14 coefficients: 2.1e-5 for hsigmoid) times |x|
    exact = intops._EXACT[kind](x).numpy()
    xs = np.abs(q * 2.0 ** -n)
    bound = {"hswish": 2.5e-5, "silu": 1.2e-2}[kind]  # the gate tables' max error (8 entries, q1.14)
    assert np.all(np.abs(y - exact) <= xs * bound + 1e-12)
    if kind == "hswish":  # far tighter than the paper's direct 8-entry hard-swish table (about 0.02)
        direct = intops.ActivationSite("hswish", _gate("hswish", "q1.6"), _stats(-absmax, absmax), "int16")
        assert np.max(np.abs(direct(x).numpy() - exact)) > 100 * np.max(np.abs(y - exact))


def test_product_site_never_reads_a_gate_outside_its_domain():
    # the paper's GA (faithful) ends its hsigmoid table at the range's end and returns 0 beyond it
    t = gqalut.fit(entries=8, method="ga-faithful", range=(-4.0, 4.0), scales="5", format="q1.14", seed=1,
                   **intops._FIT_SPEC["hsigmoid"])
    site = intops.ProductSite("hswish", t, _stats(-20.0, 20.0))
    x = torch.tensor([3.5, 3.97, 4.0, 6.0, 19.0, -19.0])
    assert torch.allclose(site(x), torch.nn.functional.hardswish(x), atol=2e-3 * 19)


def test_product_site_control_is_exact_on_the_codes():
    site = intops.ProductSite("hswish", None, _stats(-8.0, 8.0))
    q = torch.arange(-32768, 32768, dtype=torch.float64)
    x = q * 2.0 ** -site.n
    assert torch.equal(site(x + 0.3 * 2.0 ** -site.n), x * torch.clamp(x / 6 + 0.5, 0, 1))


def test_product_mode_uses_wide_gate_tables_and_refuses_unknown_modes(tmp_path):
    cal = intops.Calibration()
    ops = cal.ops()
    ops["hswish"](torch.linspace(-9, 9, 101), "s1")
    ops["hsigmoid"](torch.linspace(-3, 3, 101), "s2")
    io = intops.IntOps("optimal", 8, cal, ("hswish", "hsigmoid"), str(tmp_path), act_mode="product")
    f = io.ops()
    f["hswish"](torch.zeros(3), "s1")
    f["hsigmoid"](torch.zeros(3), "s2")
    assert isinstance(io.sites[("hswish", "s1")], intops.ProductSite)
    hs = io.sites[("hsigmoid", "s2")].table
    assert hs is io.sites[("hswish", "s1")].site.table  # one q1.14 hsigmoid table serves both
    with pytest.raises(ValueError, match="unknown act_mode 'int4'"):
        intops.IntOps("optimal", 8, cal, ("hswish",), None, act_mode="int4")


def test_layernorm_16bit_site():
    """--ln-bits 16: the library's 16-bit LayerNorm (gqalut.layernorm on int16 codes) and the control at
    the same codes; both far closer to float than the int8 datapath on a row set with an outlier channel."""
    torch.manual_seed(0)
    n = 120
    x = torch.randn(64, n) * 3
    x[:, 7] += 20  # an outlier channel, as PP-OCRv4's last LayerNorm has
    gamma, beta = torch.rand(n) + 0.5, torch.randn(n) * 0.1
    st = intops.SiteStats()
    st.add(x)
    y = torch.nn.functional.layer_norm(x, (n,), gamma, beta, 1e-5)
    st.out_absmax = float(y.abs().max())
    st.core_absmax = float((y - beta).abs().max())
    rsqrt = gqalut.fit(entries=8, method="optimal", **gqalut.torch.recipe_fit_args("rsqrt"))
    err, out = {}, {}
    for bits in (8, 16):
        for ctl in (True, False):
            site = intops.LayerNormSite(None if ctl else rsqrt, st, gamma, beta, 1e-5, "row+beta", control=ctl, bits=bits)
            out[bits, ctl] = site(x)
            err[bits, ctl] = float((out[bits, ctl] - y).abs().max())
    assert err[16, False] < err[8, False] / 3 and err[16, True] < err[8, True] / 3  # gamma's int8 codes remain
    # the 16-bit datapath is within one output step of the control on the same codes
    step = 2.0 ** -intops.LayerNormSite(None, st, gamma, beta, 1e-5, "row+beta", control=True, bits=16).out_frac
    assert float((out[16, False] - out[16, True]).abs().max()) <= 1.01 * step
    with pytest.raises(ValueError, match="8 or 16 bits"):
        intops.LayerNormSite(None, st, gamma, beta, 1e-5, "row+beta", control=True, bits=12)
