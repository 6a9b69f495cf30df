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


# ---------------------------------------------------------------- issue 18, class 9: hostile inputs

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_saturates_huge_and_infinite_logits(dtype):
    sm = gt.IntSoftmax(dim=-1, in_frac=4)

    def lib(codes):  # the library on the int32 codes the rule gives
        return gqalut.softmax(np.array(codes, np.int32), sm.exp_table, sm.div_table, 4, 8).astype(np.float64) / 256

    top, bottom = 2 ** 31 - 1, -2 ** 31
    # 2e8 * 16 and +inf are above int32: the largest code (float32 used to round 2^31 - 1 up to 2^31,
    # which wrapped to INT32_MIN and gave the huge logit probability 0).
    for big in (2e8, 3e38, float("inf")):
        x = torch.tensor([[big, 0.0, 1.0], [1.0, big, -big]], dtype=dtype)
        p = sm(x).double().numpy()
        assert np.array_equal(p, lib([[top, 0, 16], [16, top, bottom]])), big
        assert p[0, 0] == p[1, 1] == 255 / 256 and p[1, 2] == 0
    # -inf (an attention mask) gets probability 0; the rest is the softmax of the other logits.
    x = torch.tensor([[-float("inf"), 0.5, 1.0, -2.0]], dtype=dtype)
    assert np.array_equal(sm(x).double().numpy(), lib([[bottom, 8, 16, -32]]))
    assert sm(x)[0, 0] == 0


def test_softmax_nan_row_is_nan_and_dims_are_checked():
    sm = gt.IntSoftmax(dim=-1)
    x = torch.randn(3, 6)
    clean = sm(x)
    x[1, 2] = float("nan")
    y = sm(x)
    assert torch.isnan(y[1]).all()  # used to be finite
    assert torch.equal(y[0], clean[0]) and torch.equal(y[2], clean[2])
    for dim in (2, 5, -3):  # dim=5 on a 2-D tensor used to be dim 1
        with pytest.raises(IndexError, match=rf"IntSoftmax dim must be in \[-2, 1\] for a 2-D input, got {dim}$"):
            gt.IntSoftmax(dim=dim)(x)
    # 0-d: a one-element row (used to raise ZeroDivisionError), as torch.softmax.
    z = torch.tensor(0.3, requires_grad=True)
    p = gt.IntSoftmax(dim=0)(z)
    assert p.shape == () and p.item() == sm(torch.tensor([0.3])).item() == 255 / 256
    p.backward()
    assert z.grad.item() == 0.0
    assert gt.IntSoftmax(dim=-1)(torch.tensor(2.0)).shape == ()
    with pytest.raises(IndexError, match=r"dim must be in \[-1, 0\] for a 0-D input, got 1"):
        gt.IntSoftmax(dim=1)(torch.tensor(2.0))


def _ln_reference(ln, x, gamma_frac):
    xc = ln.input_frac(x)
    codes = np.clip(np.round(x.detach().double().numpy() * 2.0 ** xc), -128, 127).astype(np.int8)
    g = np.round(ln.weight.detach().double().numpy() * 2.0 ** gamma_frac).astype(np.int8)
    b = np.round(ln.bias.detach().double().numpy() * 2.0 ** ln.out_frac).astype(np.int32)
    return gqalut.layernorm(codes, g, b, ln.rsqrt_table, xc, ln.out_frac, gamma_frac, ln.eps).astype(np.float64) / 16


def test_layernorm_weights_never_saturate_silently():
    torch.manual_seed(2)
    x = torch.randn(5, 8) * 3
    ln = gt.IntLayerNorm(8)
    with torch.no_grad():
        ln.weight.copy_(torch.linspace(0.5, 1.5, 8))
    assert ln.weight_codes()[1] == 6  # weights up to 1.98: the old fixed gamma_frac
    assert np.array_equal(ln(x).detach().double().numpy(), _ln_reference(ln, x, 6))
    with torch.no_grad():
        ln.weight.fill_(100.0)  # used to become 127/64 = 1.98
    codes, gf = ln.weight_codes()
    assert gf == 0 and (codes == 100).all()
    assert np.array_equal(ln(x).detach().double().numpy(), _ln_reference(ln, x, 0))
    with torch.no_grad():
        ln.weight.copy_(torch.linspace(-0.01, 0.02, 8))  # small weights: finer codes
    codes, gf = ln.weight_codes()
    assert gf == 12 and codes.max().item() == 82 and codes.min().item() == -41
    fixed = gt.IntLayerNorm(8, gamma_frac=6)
    with torch.no_grad():
        fixed.weight.fill_(100.0)
    with pytest.raises(ValueError, match=r"IntLayerNorm weight must fit int8 codes at 2\^-6 \(gamma_frac 6: weights "
                                         r"in \[-2, 1.98438\]\), got max \|weight\| = 100; use gamma_frac='auto'"):
        fixed(x)
    with torch.no_grad():
        ln.weight.fill_(300.0)
    with pytest.raises(ValueError, match=r"for a gamma_frac in \[0, 15\] .weights in \[-128, 127\]., got max \|weight\| = 300$"):
        ln(x)
    with torch.no_grad():
        ln.weight.fill_(1.0)
        ln.bias.fill_(2.0 ** 30)
    with pytest.raises(ValueError, match=r"IntLayerNorm bias must fit int32 codes at 2\^-4, got max \|bias\| = 1.07374e\+09"):
        ln(x)


def test_layernorm_non_finite_rows_and_0d():
    ln = gt.IntLayerNorm(6)
    x = torch.randn(4, 6)
    clean = ln(x)
    x[1, 0], x[3, 5] = float("nan"), float("inf")
    y = ln(x)
    assert torch.isnan(y[1]).all() and torch.isnan(y[3]).all()  # used to be finite
    assert torch.equal(y[0], clean[0]) and torch.equal(y[2], clean[2])
    with pytest.raises(ValueError, match="IntLayerNorm of size 6 needs a last axis of 6, got a 0-d input"):
        ln(torch.tensor(1.0))  # used to raise IndexError: tuple index out of range


def test_module_arguments_are_checked():
    t = gqalut.fit("gelu", method="optimal", scales="3:5")
    cases = [
        (lambda: gt.TableActivation(t, n=5.5), TypeError, r"n must be an int \(the input scale\), got float 5.5"),
        (lambda: gt.TableActivation(t, n=2 ** 70), ValueError, r"table has no scale n = 1180591620717411303424 \(has 3,4,5\)"),
        (lambda: gt.TableActivation(t, learn_scale="yes"), TypeError, "learn_scale must be True or False"),
        (lambda: gt.IntSoftmax(dim=1.5), TypeError, "dim must be an int, got float 1.5"),
        (lambda: gt.IntSoftmax(in_frac=2 ** 40), ValueError, r"in_frac must be an integer in \[0, 20\], got 1099511627776"),
        (lambda: gt.IntSoftmax(in_frac=4.5), TypeError, "in_frac must be an int, got float 4.5"),
        (lambda: gt.IntSoftmax(out_frac=0), ValueError, r"out_frac must be an integer in \[1, 15\], got 0"),
        (lambda: gt.IntSoftmax(exp_table="exp.json"), TypeError, "exp_table must be a gqalut.TableSet"),
        (lambda: gt.IntLayerNorm(0), ValueError, r"normalized_shape must be an integer in \[1, 2147483647\], got 0"),
        (lambda: gt.IntLayerNorm(4.0), TypeError, "normalized_shape must be an int or a sequence of ints"),
        (lambda: gt.IntLayerNorm(4, eps=float("nan")), ValueError, "eps must be a finite number, got nan"),
        (lambda: gt.IntLayerNorm(4, eps=-1), ValueError, "eps must be >= 0, got -1.0"),
        (lambda: gt.IntLayerNorm(4, in_frac=16), ValueError, r"in_frac must be an integer in \[0, 15\] or 'auto', got 16"),
        (lambda: gt.IntLayerNorm(4, gamma_frac="fine"), TypeError, "gamma_frac must be an int, got str 'fine'"),
        (lambda: gt.IntLayerNorm(4, out_frac=2 ** 33), ValueError, r"out_frac must be an integer in \[0, 15\], got 8589934592"),
    ]
    for make, exc, pattern in cases:
        with pytest.raises(exc, match=pattern) as info:
            make()
        assert "\n" not in str(info.value)


def test_converted_model_survives_deepcopy_pickle_and_torch_save(tmp_path):
    import copy
    import io
    import pickle

    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 8), nn.Softmax(dim=-1),
                          gt.SiLU(table=gqalut.fit("silu", method="optimal", scales="2:5")))
    gt.convert(model)
    with torch.no_grad():
        model[1].log2_scale.fill_(-4.2)  # learned state travels too
        model[2].weight.mul_(3.0)
    x = torch.randn(6, 8)
    want = model(x)
    path = tmp_path / "model.pt"
    torch.save(model, path)  # used to fail: cannot pickle 'gqalut._core.TableSet' object
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    copies = [copy.deepcopy(model), pickle.loads(pickle.dumps(model)), torch.load(path)]
    for m in copies:
        assert torch.equal(m(x), want)
        assert m[1].n == model[1].n == 4 and m[1].table.dumps() == model[1].table.dumps()
        assert m[4].exp_table.dumps() == model[4].exp_table.dumps()
        y = m(x.requires_grad_(True)).sum()
        y.backward()  # and trains
    buf.seek(0)
    fresh = copy.deepcopy(model)
    fresh.load_state_dict(torch.load(buf))
    assert torch.equal(fresh(x), want)
    # A table set and one table pickle on their own.
    t = model[1].table
    assert pickle.loads(pickle.dumps(t)).dumps() == t.dumps()
    assert pickle.loads(pickle.dumps(t[5])).breakpoints == t[5].breakpoints
