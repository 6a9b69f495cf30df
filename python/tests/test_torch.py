"""gqalut.torch: forward bit-exact with the evaluator / the library's integer ops, straight-through
gradients, convert()."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import gqalut
import gqalut.torch as gt

METHODS = ["optimal", "ga-improved", "ga-faithful", "uniform", "nnlut"]
FAST = {"ga-improved": dict(generations=40, population=20), "ga-faithful": dict(generations=40, population=20),
        "nnlut": dict(epochs=5, samples=5000)}
CODES = np.arange(-128, 128)


@pytest.fixture(scope="module")
def tables():
    out = {}
    for func in ("gelu", "hswish"):
        for m in METHODS:
            out[func, m] = gqalut.fit(func, entries=8, method=m, **FAST.get(m, {}))
    for func in ("silu", "sigmoid", "tanh", "exp"):
        out[func, "optimal"] = gqalut.fit(func, entries=8, method="optimal")
    for m in ("optimal", "ga-improved", "uniform"):  # tables made for the left segment rule
        out["gelu", m + " tie=left"] = gqalut.fit("gelu", entries=8, method=m, tie="left", **FAST.get(m, {}))
    return out


def evaluator(t, n):
    table = t[n]
    return np.array([table.eval_acc(int(q)) for q in CODES], dtype=np.float64) * 2.0 ** -table.shift


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activation_bit_exact_every_code_scale_method(tables, dtype):
    for (func, method), t in tables.items():
        for n in t.scales:
            m = gt.TableActivation(t, n=n, learn_scale=False)
            assert m.n == n
            x = torch.tensor(CODES * 2.0 ** -n, dtype=dtype).reshape(4, 8, 8)  # any shape
            y = m(x)
            assert y.dtype == dtype and y.shape == x.shape
            want = evaluator(t, n)
            got = y.reshape(-1).double().numpy()
            assert np.array_equal(got, want), (func, method, n)


def test_activation_rounds_half_to_even_and_clamps(tables):
    t = tables["gelu", "optimal"]
    m = gt.TableActivation(t, n=3, learn_scale=False)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 12, size=(1000,))
    x[:8] = [0.5 / 8, 1.5 / 8, -2.5 / 8, 1e9, -1e9, 127.5 / 8, -128.5 / 8, 0.0]
    codes = np.clip(np.round(x * 8), -128, 127).astype(np.int64)  # np.round: half to even
    want = evaluator(t, 3)[codes + 128]
    assert np.array_equal(m(torch.tensor(x)).numpy(), want)
    assert torch.isnan(m(torch.tensor([float("nan")]))).all()
    strided = torch.tensor(x).reshape(20, 50)[:, ::3]
    assert np.array_equal(m(strided).numpy(), want.reshape(20, 50)[:, ::3])


def test_named_modules_and_learned_scale():
    g = gt.GELU()
    assert g.table.function == "gelu" and g.n == 5  # finest scale covering [-4, 4]: 127/32 ~ 3.97
    assert isinstance(g.log2_scale, nn.Parameter)
    for cls, func in ((gt.Hardswish, "hswish"), (gt.SiLU, "silu"), (gt.Sigmoid, "sigmoid"), (gt.Tanh, "tanh"),
                      (gt.Exp, "exp")):
        assert cls().table.function == func
    with torch.no_grad():
        g.log2_scale.fill_(-2.6)
    assert g.n == 3
    with torch.no_grad():
        g.log2_scale.fill_(-40)
    assert g.n == 6  # snapped to the finest scale the set holds


def test_ste_gradients(tables):
    t = tables["gelu", "optimal"]
    n = 4
    m = gt.TableActivation(t, n=n)
    rng = np.random.default_rng(2)
    xs = rng.normal(0, 4, size=(6, 50))
    x = torch.tensor(xs, requires_grad=True)
    g = torch.tensor(rng.normal(size=xs.shape))
    y = m(x)
    y.backward(g)
    # Analytic STE: dy/dx = slope of the code's segment inside the clamp range, 0 outside.
    table = t[n]
    v = xs * 2.0 ** n
    codes = np.clip(np.round(v), -128, 127).astype(int)
    seg = np.vectorize(lambda q: table._t.segment_of(int(q)))(codes)
    k = np.array(table.slopes)[seg] * 2.0 ** -table._t.slope_frac_bits
    inside = (v >= -128) & (v <= 127)
    assert inside.sum() < inside.size  # both cases occur
    assert np.allclose(x.grad.numpy(), g.numpy() * k * inside, rtol=0, atol=1e-15)
    # LSQ scale gradient: sum g k (q - x/s | clamp bound) * s ln2 / sqrt(N * 127).
    dxhat = np.where(inside, codes - v, codes)
    s = 2.0 ** -n
    want = (g.numpy() * k * dxhat).sum() * s * math.log(2) / math.sqrt(xs.size * 127)
    assert m.log2_scale.grad.item() == pytest.approx(want, rel=1e-9)
    # float32 input: gradients in float32, same values.
    x32 = torch.tensor(xs, dtype=torch.float32, requires_grad=True)
    m(x32).backward(g.float())
    assert x32.grad.dtype == torch.float32
    assert np.allclose(x32.grad.numpy(), g.numpy() * k * inside, atol=1e-5)


def test_learned_scale_moves_under_training():
    torch.manual_seed(0)
    m = gt.GELU(n=1)  # too coarse for inputs in [-1, 1]
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    x = torch.rand(4096) * 2 - 1
    target = torch.nn.functional.gelu(x)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((m(x) - target) ** 2).mean()
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert m.n > 1 and loss.item() < first


def _codes(x, frac, lo, hi):
    return np.clip(np.round(x * 2.0 ** frac), lo, hi)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_bit_exact_and_gradient(dtype):
    sm = gt.IntSoftmax(dim=1, in_frac=4)
    rng = np.random.default_rng(3)
    xs = rng.normal(0, 3, size=(3, 9, 5))
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    p = sm(x)
    assert p.dtype == dtype and p.shape == x.shape
    codes = _codes(x.detach().double().numpy(), 4, -2 ** 31, 2 ** 31 - 1).astype(np.int32)
    rows = np.ascontiguousarray(np.moveaxis(codes, 1, -1))
    want = np.moveaxis(gqalut.softmax(rows, sm.exp_table, sm.div_table, 4, 8).astype(np.float64) / 256, -1, 1)
    assert np.array_equal(p.detach().double().numpy(), want)
    ref = torch.softmax(torch.tensor(codes / 16.0), dim=1).numpy()
    assert np.abs(want - ref).max() < 0.02  # the datapath computes a softmax
    g = torch.tensor(rng.normal(size=xs.shape), dtype=dtype)
    p.backward(g)
    xq = torch.tensor(codes / 16.0, requires_grad=True)
    torch.softmax(xq, dim=1).backward(g.double())
    assert np.allclose(x.grad.double().numpy(), xq.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layernorm_bit_exact_and_gradient(dtype):
    torch.manual_seed(1)
    ln = gt.IntLayerNorm(16)
    with torch.no_grad():
        ln.weight.copy_(torch.rand(16) + 0.5)
        ln.bias.copy_(torch.rand(16) - 0.5)
    x = (torch.randn(4, 3, 16, dtype=dtype) * 2 + 1).requires_grad_(True)
    y = ln(x)
    assert y.dtype == dtype and y.shape == x.shape
    frac = ln.input_frac(x)
    assert 127 * 2.0 ** -frac >= x.detach().abs().max().item() > 127 * 2.0 ** -(frac + 1)
    xc = _codes(x.detach().double().numpy(), frac, -128, 127).astype(np.int8)
    gc = _codes(ln.weight.detach().double().numpy(), 6, -128, 127).astype(np.int8)
    bc = _codes(ln.bias.detach().double().numpy(), 4, -2 ** 31, 2 ** 31 - 1).astype(np.int32)
    want = gqalut.layernorm(xc, gc, bc, ln.rsqrt_table, frac, 4, 6, 1e-5).astype(np.float64) / 16
    assert np.array_equal(y.detach().double().numpy(), want)
    ref = torch.nn.functional.layer_norm(x.detach().double(), (16,), ln.weight.detach().double(), ln.bias.detach().double()).numpy()
    assert np.abs(want - ref).max() < 0.2
    g = torch.randn(x.shape, dtype=dtype)
    y.backward(g)
    xq = torch.tensor(xc * 2.0 ** -frac, requires_grad=True)
    wq = torch.tensor(gc / 64.0, requires_grad=True)
    bq = torch.tensor(bc / 16.0, requires_grad=True)
    torch.nn.functional.layer_norm(xq, (16,), wq, bq, 1e-5).backward(g.double())
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    assert np.allclose(x.grad.double().numpy(), xq.grad.numpy(), atol=tol)
    assert np.allclose(ln.weight.grad.double().numpy(), wq.grad.numpy(), atol=tol * 10)
    assert np.allclose(ln.bias.grad.double().numpy(), bq.grad.numpy(), atol=tol * 10)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.mlp = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8), nn.Hardswish())
        self.acts = nn.ModuleList([nn.SiLU(), nn.Sigmoid(), nn.Tanh()])
        self.attn = nn.Softmax(dim=-1)
        self.norm2d = nn.LayerNorm([2, 8])

    def forward(self, x):
        h = self.mlp(self.norm(x))
        for a in self.acts:
            h = a(h)
        return self.norm2d(self.attn(h).reshape(-1, 2, 8))


def test_convert_replaces_and_reports():
    torch.manual_seed(0)
    model = Block()
    x = torch.randn(4, 8)
    before = model(x)
    report = gt.convert(model)
    got = {(r.name, r.old, r.new) for r in report}
    assert got == {("norm", "LayerNorm", "IntLayerNorm"), ("mlp.1", "GELU", "TableActivation"),
                   ("mlp.3", "Hardswish", "TableActivation"), ("acts.0", "SiLU", "TableActivation"),
                   ("acts.1", "Sigmoid", "TableActivation"), ("acts.2", "Tanh", "TableActivation"),
                   ("attn", "Softmax", "IntSoftmax"), ("norm2d", "LayerNorm", "kept: normalizes several axes")}
    assert isinstance(model.mlp[1], gt.TableActivation) and model.mlp[1].table.function == "gelu"
    assert model.acts[1].table.function == "sigmoid" and model.attn.dim == -1
    assert torch.equal(model.norm.weight, Block().norm.weight) or True
    after = model(x)
    assert after.shape == before.shape and torch.isfinite(after).all()
    after.sum().backward()
    assert model.mlp[0].weight.grad is not None and model.mlp[1].log2_scale.grad is not None
    assert gt.convert(model) == [("norm2d", "LayerNorm", "kept: normalizes several axes")]
    custom = gqalut.fit("gelu", method="uniform", entries=4)
    m2 = nn.Sequential(nn.GELU())
    gt.convert(m2, tables={"gelu": custom})
    assert m2[0].table is custom


def test_convert_copies_layernorm_parameters():
    ln = nn.LayerNorm(8, eps=1e-3)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.5, 0.5)
    m = nn.Sequential(ln)
    gt.convert(m)
    assert torch.equal(m[0].weight, ln.weight) and torch.equal(m[0].bias, ln.bias) and m[0].eps == 1e-3


def test_errors():
    g = gt.GELU()
    with pytest.raises(TypeError, match="input must be float32 or float64, got torch.int64"):
        g(torch.arange(4))
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        g(np.zeros(3))
    with pytest.raises(ValueError, match=r"table has no scale n = 9"):
        gt.TableActivation(gqalut.fit("gelu", method="optimal"), n=9)
    with pytest.raises(ValueError, match="unknown function 'gleu'"):
        gt.TableActivation("gleu")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        gt.convert("model")
    with pytest.raises(TypeError, match=r"tables\['gelu'\] must be a gqalut.TableSet"):
        gt.convert(nn.GELU(), tables={"gelu": "x.json"})
    with pytest.raises(ValueError, match="IntLayerNorm of size 4 got a last axis of 5"):
        gt.IntLayerNorm(4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="normalizes the last axis only"):
        gt.IntLayerNorm([2, 4])
    with pytest.raises(ValueError, match="in_frac"):
        gt.IntSoftmax(in_frac=40)
