"""gqalut.onnx: ONNX graphs as torch modules (patterns recognized as single modules, unsupported
operators refused in one line) and outputs equal to onnxruntime-node's on PP-OCRv4."""
import os
import shutil

import numpy as np
import pytest
import torch
from torch import nn

onnx = pytest.importorskip("onnx", reason="python3-onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import gqalut.onnx as go  # noqa: E402


def _ort_available():
    try:
        go.model_path("ppocr-rec")
    except go.OnnxRuntimeUnavailable as e:
        return str(e)
    if shutil.which("node") is None and shutil.which("nodejs") is None:
        return "node is not installed"
    return None


ORT_MISSING = _ort_available()
needs_ort = pytest.mark.skipif(ORT_MISSING is not None, reason=f"onnxruntime-node unavailable: {ORT_MISSING}")

D = 16


def const(name, value):
    return helper.make_node("Constant", [], [name], name=name + "_node",
                            value=numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))


def synthetic_model(opset=13):
    """x (2, 5, D) -> LayerNorm (decomposed, affine) -> SiLU (x * sigmoid x) -> swish beta 1.702
    -> hard-swish (Add/Clip/Mul/Div) -> hard-sigmoid (HardSigmoid) -> GELU (erf) -> Softmax over
    the last axis; plus a decomposed softmax (exp(x - max) / sum) as a second output."""
    rng = np.random.default_rng(1)
    N = []
    N += [const("eps", 1e-5), const("two", 2.0), const("gamma", rng.uniform(0.5, 1.5, D)),
          const("beta", rng.uniform(-0.5, 0.5, D)), const("three", 3.0), const("zero", 0.0), const("six", 6.0),
          const("sw_beta", 1.702), const("sqrt2", np.sqrt(2.0)), const("one", 1.0), const("half", 0.5),
          const("W", rng.normal(0, 0.5, (D, D)))]
    N += [helper.make_node("ReduceMean", ["x"], ["m1"], axes=[-1], name="ln_mean"),
          helper.make_node("Sub", ["x", "m1"], ["d"], name="ln_sub"),
          helper.make_node("Pow", ["d", "two"], ["d2"], name="ln_pow"),
          helper.make_node("ReduceMean", ["d2"], ["v"], axes=[-1], name="ln_var"),
          helper.make_node("Add", ["v", "eps"], ["ve"], name="ln_add"),
          helper.make_node("Sqrt", ["ve"], ["sd"], name="ln_sqrt"),
          helper.make_node("Div", ["d", "sd"], ["n"], name="ln_div"),
          helper.make_node("Mul", ["n", "gamma"], ["ng"], name="ln_mul"),
          helper.make_node("Add", ["ng", "beta"], ["ln"], name="ln_out")]
    N += [helper.make_node("MatMul", ["ln", "W"], ["h0"], name="proj"),
          helper.make_node("Sigmoid", ["h0"], ["s0"], name="silu_sig"),
          helper.make_node("Mul", ["h0", "s0"], ["h1"], name="silu_mul"),
          helper.make_node("Mul", ["h1", "sw_beta"], ["bx"], name="swish_scale"),
          helper.make_node("Sigmoid", ["bx"], ["s1"], name="swish_sig"),
          helper.make_node("Mul", ["s1", "h1"], ["h2"], name="swish_mul"),
          helper.make_node("Add", ["h2", "three"], ["a3"], name="hs_add"),
          helper.make_node("Clip", ["a3", "zero", "six"], ["c6"], name="hs_clip"),
          helper.make_node("Mul", ["h2", "c6"], ["hm"], name="hs_mul"),
          helper.make_node("Div", ["hm", "six"], ["h3"], name="hs_div"),
          helper.make_node("HardSigmoid", ["h3"], ["hsig"], alpha=1.0 / 6, beta=0.5, name="hsig"),
          helper.make_node("Add", ["hsig", "h3"], ["h4"], name="res"),
          helper.make_node("Div", ["h4", "sqrt2"], ["g0"], name="gelu_div"),
          helper.make_node("Erf", ["g0"], ["g1"], name="gelu_erf"),
          helper.make_node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
          helper.make_node("Mul", ["h4", "g2"], ["g3"], name="gelu_mul"),
          helper.make_node("Mul", ["g3", "half"], ["h5"], name="gelu_half"),
          helper.make_node("Softmax", ["h5"], ["y"], axis=-1, name="softmax"),
          helper.make_node("ReduceMax", ["h5"], ["mx"], axes=[-1], name="sm_max"),
          helper.make_node("Sub", ["h5", "mx"], ["z"], name="sm_sub"),
          helper.make_node("Exp", ["z"], ["e"], name="sm_exp"),
          helper.make_node("ReduceSum", ["e", "axes"], ["se"], name="sm_sum"),
          helper.make_node("Div", ["e", "se"], ["y2"], name="sm_div")]
    axes = numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes")
    graph = helper.make_graph(N, "patterns", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, D])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, D]),
                               helper.make_tensor_value_info("y2", TensorProto.FLOAT, [2, 5, D])],
                              initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def reference(x, model):
    """The synthetic graph in plain torch float64 (written from the ONNX definitions)."""
    c = {n.output[0]: torch.tensor(numpy_helper.to_array(n.attribute[0].t), dtype=torch.float64)
         for n in model.graph.node if n.op_type == "Constant"}
    x = torch.tensor(x, dtype=torch.float64)
    mu = x.mean(-1, keepdim=True)
    ln = (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5) * c["gamma"] + c["beta"]
    h0 = ln @ c["W"]
    h1 = h0 * torch.sigmoid(h0)
    b = float(np.float32(1.702))
    h2 = h1 * torch.sigmoid(b * h1)
    h3 = h2 * torch.clamp(h2 + 3, 0, 6) / 6
    h4 = torch.clamp(h3 * float(np.float32(1 / 6)) + 0.5, 0, 1) + h3
    h5 = 0.5 * h4 * (1 + torch.erf(h4 / float(np.float32(np.sqrt(2)))))
    return torch.softmax(h5, -1).numpy(), torch.softmax(h5, -1).numpy()


def test_patterns_become_single_modules_and_match_the_graph():
    model = synthetic_model()
    m = go.load(model)
    kinds = [type(v).__name__ for v in m.ops.values()]
    assert kinds == ["LayerNorm", "_Op", "SiLU", "Swish", "Hardswish", "Hardsigmoid", "_Op", "GELU", "Softmax",
                     "Softmax"], kinds
    ln = m.ops["ln_out"]
    assert isinstance(ln, nn.LayerNorm) and ln.normalized_shape == (D,) and ln.eps == pytest.approx(1e-5)
    gamma = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"}
    assert np.array_equal(ln.weight.detach().numpy(), gamma["gamma"])
    assert np.array_equal(ln.bias.detach().numpy(), gamma["beta"])
    assert m.ops["swish_mul"].beta == pytest.approx(1.702)
    assert m.ops["sm_div"].dim == -1 and m.ops["softmax"].dim == -1
    x = np.random.default_rng(2).normal(0, 2, (2, 5, D)).astype(np.float32)
    y, y2 = m(torch.from_numpy(x))
    want, want2 = reference(x, model)
    assert np.abs(y.detach().numpy() - want).max() < 1e-5
    assert np.abs(y2.detach().numpy() - want2).max() < 1e-5
    # without recognition every ONNX node is computed apart: the same function
    raw = go.load(model, recognize=False)
    assert not any(isinstance(v, (nn.LayerNorm, nn.SiLU, nn.GELU, go.Swish)) for v in raw.ops.values())
    r1, r2 = raw(torch.from_numpy(x))
    assert np.abs(r1.detach().numpy() - want).max() < 1e-5 and np.abs(r2.detach().numpy() - want2).max() < 1e-5


def _keep_everything(m):
    """m with forward()'s freeing switched off: every intermediate lives to the end."""
    m._free_after = [[] for _ in m._program]
    return m


def test_intermediates_are_freed_after_their_last_use():
    """forward() drops each intermediate after the last step that reads it (graph outputs kept):
    when a step runs, no value whose readers all ran before is still alive; the outputs are
    bit-identical to a forward that keeps everything."""
    import weakref
    model = synthetic_model()
    for recognize in (True, False):
        m = go.load(model, recognize=recognize)
        last = {}
        for step, (_, ins, outs) in enumerate(m._program):
            for name in ins + outs:
                last[name] = step
        produced = {}  # value name -> (weakref of its tensor, last step reading it)
        alive_too_long = []
        keys = {key: step for step, (key, _, _) in enumerate(m._program)}

        def hook(mod, inp, out, key=None):
            step = keys[key]
            for name, (ref, until) in produced.items():
                if until < step and name not in m.output_names and ref() is not None:
                    alive_too_long.append((name, key))
            for name in m._program[step][2]:
                produced[name] = (weakref.ref(out), last[name])

        for key, op in m.ops.items():
            op.register_forward_hook(lambda mod, i, o, key=key: hook(mod, i, o, key))
        x = torch.from_numpy(np.random.default_rng(4).normal(0, 2, (2, 5, D)).astype(np.float32))
        with torch.no_grad():
            y, y2 = m(x)
        assert len(produced) == len(m._program) and not alive_too_long, alive_too_long
        produced.clear()
        with torch.no_grad():
            k, k2 = _keep_everything(m)(x)
        assert len(alive_too_long) > 0  # the check sees values kept past their last use
        assert torch.equal(y, k) and torch.equal(y2, k2)


def test_pattern_with_a_second_user_is_not_fused():
    """x * sigmoid(x) where sigmoid(x) is also an output: the Sigmoid stays its own module."""
    N = [helper.make_node("Sigmoid", ["x"], ["s"], name="sig"), helper.make_node("Mul", ["x", "s"], ["y"], name="mul")]
    g = helper.make_graph(N, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4]),
                           helper.make_tensor_value_info("s", TensorProto.FLOAT, [4])])
    m = go.load(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    assert [type(v).__name__ for v in m.ops.values()] == ["Sigmoid", "_Op"]
    x = torch.linspace(-4, 4, 4)
    y, s = m(x)
    assert torch.allclose(y, x * torch.sigmoid(x)) and torch.allclose(s, torch.sigmoid(x))


def test_unsupported_operator_is_refused_in_one_line(tmp_path):
    N = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("TopK", ["r", "k"], ["v", "i"], name="top_scores")]
    g = helper.make_graph(N, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
                          [helper.make_tensor_value_info("v", TensorProto.FLOAT, [2])],
                          initializer=[numpy_helper.from_array(np.array([2], dtype=np.int64), "k")])
    with pytest.raises(ValueError) as e:
        go.load(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("unsupported ONNX operator 'TopK' (node 'top_scores')")
    N = [helper.make_node("FusedGemm", ["x", "x"], ["y"], name="fg", domain="com.microsoft")]
    g = helper.make_graph(N, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(ValueError, match=r"^unsupported ONNX operator 'com.microsoft.FusedGemm' \(node 'fg'\)"):
        go.load(model)
    with pytest.raises(ValueError, match="cannot open ONNX model '/nonexistent.onnx': no such file"):
        go.load("/nonexistent.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ValueError, match="cannot parse ONNX model"):
        go.load(bad)
    with pytest.raises(TypeError, match="model must be a path, bytes or onnx.ModelProto"):
        go.load(3)


def test_opset9_attribute_forms():
    """Opset 9: Clip min/max, Slice starts/ends and Squeeze axes are attributes; Softmax flattens
    from its axis on (coerced to 2-D)."""
    N = [helper.make_node("Clip", ["x"], ["c"], min=-1.0, max=2.0, name="clip"),
         helper.make_node("Slice", ["c"], ["s"], axes=[2], starts=[1], ends=[1000], name="slice"),
         helper.make_node("Unsqueeze", ["s"], ["u"], axes=[0], name="unsq"),
         helper.make_node("Squeeze", ["u"], ["q"], axes=[0], name="sq"),
         helper.make_node("Softmax", ["q"], ["y"], axis=1, name="sm")]
    g = helper.make_graph(N, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    m = go.load(helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)]))
    x = torch.randn(2, 3, 5) * 3
    s = torch.clamp(x, -1, 2)[:, :, 1:]
    want = torch.softmax(s.reshape(2, -1), -1).reshape(2, 3, 4)
    assert torch.allclose(m(x), want, atol=1e-6)
    assert isinstance(m.ops["sm"], go.SoftmaxFlat)


@needs_ort
def test_synthetic_model_equals_onnxruntime(tmp_path):
    model = synthetic_model()
    path = tmp_path / "patterns.onnx"
    onnx.save(model, str(path))
    x = np.random.default_rng(3).normal(0, 2, (2, 5, D)).astype(np.float32)
    ref = go.run_onnxruntime(path, {"x": x})
    y, y2 = go.load(path)(torch.from_numpy(x))
    assert np.abs(y.detach().numpy() - ref["y"]).max() < 1e-5
    assert np.abs(y2.detach().numpy() - ref["y2"]).max() < 1e-5


def render(text, width=None):
    """A text line in DejaVu Sans, 48 px high (width: the text's plus a margin), normalized as PP-OCR expects ((x/255 - 0.5)/0.5, BGR)."""
    PIL = pytest.importorskip("PIL", reason="python3-pil is not installed")
    from PIL import Image, ImageDraw, ImageFont
    font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.exists(font_path):
        pytest.skip("fonts-dejavu-core is not installed")
    font = ImageFont.truetype(font_path, 28)
    width = width or int(font.getlength(text)) + 16
    img = Image.new("RGB", (width, 48), "white")
    ImageDraw.Draw(img).text((4, 8), text, fill="black", font=font)
    a = np.asarray(img, dtype=np.float32)[:, :, ::-1] / 255.0
    return ((a - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


@needs_ort
def test_ppocr_rec_equals_onnxruntime():
    path = go.model_path("ppocr-rec")
    m = go.load(path).eval()
    kinds = {}
    for v in m.ops.values():
        kinds[type(v).__name__] = kinds.get(type(v).__name__, 0) + 1
    # the census: 28 hard-swish, 2 hard-sigmoid, 7 SiLU, 5 LayerNorm, 3 softmax
    assert (kinds["Hardswish"], kinds["Hardsigmoid"], kinds["SiLU"], kinds["LayerNorm"], kinds["SoftmaxFlat"]) == \
        (28, 2, 7, 5, 3)
    rng = np.random.default_rng(0)
    xs = [render("In the beginning God created"), render("the heaven and the earth.", 200),
          rng.uniform(-1, 1, (2, 3, 48, 160)).astype(np.float32)]
    refs = go.run_onnxruntime(path, [{"x": x} for x in xs])
    for x, ref in zip(xs, refs):
        with torch.no_grad():
            y = m(torch.from_numpy(x)).numpy()
        want = ref["softmax_11.tmp_0"]
        assert y.shape == want.shape
        assert np.abs(y - want).max() < 1e-4, np.abs(y - want).max()
        assert (y.argmax(-1) == want.argmax(-1)).all()
    with torch.no_grad():  # freeing intermediates after their last use changes no bit
        assert torch.equal(m(torch.from_numpy(xs[2])), _keep_everything(go.load(path).eval())(torch.from_numpy(xs[2])))
    # trainable: the weights are parameters and gradients reach the first convolution
    m(torch.from_numpy(xs[1])).max(-1).values.sum().backward()
    grads = [p.grad for p in m.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    m.zero_grad()
    # the rendered text is read (greedy CTC over blank + keys + space)
    keys = open(go.model_path("ppocr-keys"), encoding="utf-8").read().splitlines()
    labels = [""] + keys + [" "]
    with torch.no_grad():
        best = m(torch.from_numpy(xs[0])).argmax(-1)[0].tolist()
    text, prev = [], 0
    for k in best:
        if k != prev and k != 0:
            text.append(labels[k])
        prev = k
    assert "".join(text).strip() == "In the beginning God created"


@pytest.mark.parametrize("opset", [11, 13, 17])
def test_torch_exported_vision_transformer(opset, tmp_path):
    """torchvision's ViT exported by torch.onnx (decomposed LayerNorm with weights shared through
    Identity nodes before opset 17, LayerNormalization from 17; erf GELU; attention softmax):
    5 LayerNorm, 2 GELU, 2 softmax recognized; outputs equal torch's and onnxruntime-node's."""
    from test_convert import small_vit
    vit = small_vit(init_tokens=False)
    x = torch.randn(2, 3, 32, 32)
    path = tmp_path / f"vit{opset}.onnx"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(vit, x, str(path), opset_version=opset, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}})
    m = go.load(path)
    kinds = {}
    for v in m.ops.values():
        kinds[type(v).__name__] = kinds.get(type(v).__name__, 0) + 1
    assert kinds["LayerNorm"] == 5 and kinds["GELU"] == 2 and kinds.get("Softmax", 0) + kinds.get("SoftmaxFlat", 0) == 2
    assert "LayerNormLastAxis" not in kinds
    x2 = torch.randn(3, 3, 32, 32)  # another batch size (dynamic axis)
    with torch.no_grad():
        assert np.abs(m(x2).numpy() - vit(x2).numpy()).max() < 1e-5
    if ORT_MISSING is None:
        ref = go.run_onnxruntime(path, {"x": x2.numpy()})["y"]
        with torch.no_grad():
            assert np.abs(m(x2).numpy() - ref).max() < 1e-4
    import gqalut.torch as gt
    rep = gt.convert(m)
    assert len(rep) == 9 and rep.kept == []


@needs_ort
def test_resize_and_conv_transpose_equal_onnxruntime(tmp_path):
    """Resize (nearest in several coordinate/rounding modes, linear) and ConvTranspose with
    asymmetric pads and output padding, against onnxruntime-node."""
    rng = np.random.default_rng(4)
    w = numpy_helper.from_array(rng.normal(0, 0.5, (3, 2, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(0, 0.5, (2,)).astype(np.float32), "b")
    roi = numpy_helper.from_array(np.zeros(0, np.float32), "roi")
    sc = numpy_helper.from_array(np.array([1, 1, 1.5, 2.5], np.float32), "sc")
    sizes = numpy_helper.from_array(np.array([1, 3, 7, 9], np.int64), "sizes")
    N = [helper.make_node("Resize", ["x", "roi", "sc"], ["r1"], mode="nearest", name="r1"),
         helper.make_node("Resize", ["x", "roi", "sc"], ["r2"], mode="nearest", coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor", name="r2"),
         helper.make_node("Resize", ["x", "roi", "", "sizes"], ["r3"], mode="nearest",
                          coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil", name="r3"),
         helper.make_node("Resize", ["x", "roi", "sc"], ["r4"], mode="linear", name="r4"),
         helper.make_node("Resize", ["x", "roi", "", "sizes"], ["r5"], mode="linear",
                          coordinate_transformation_mode="align_corners", name="r5"),
         helper.make_node("ConvTranspose", ["x", "w", "b"], ["ct"], strides=[2, 2], pads=[1, 0, 0, 1],
                          output_padding=[1, 0], name="ct")]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("r1", "r2", "r3", "r4", "r5", "ct")]
    g = helper.make_graph(N, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])], outs,
                          initializer=[w, b, roi, sc, sizes])
    path = tmp_path / "resize.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    x = rng.normal(0, 1, (1, 3, 4, 5)).astype(np.float32)
    ref = go.run_onnxruntime(path, {"x": x})
    got = go.load(path)(torch.from_numpy(x))
    for name, y in zip(("r1", "r2", "r3", "r4", "r5", "ct"), got):
        assert y.shape == ref[name].shape, name
        assert np.abs(y.detach().numpy() - ref[name]).max() < 1e-5, name


@needs_ort
def test_ppocr_det_and_cls_equal_onnxruntime():
    rng = np.random.default_rng(5)
    for name, shape in (("ppocr-det", (1, 3, 96, 160)), ("ppocr-cls", (2, 3, 48, 192))):
        path = go.model_path(name)
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        ref = go.run_onnxruntime(path, {"x": x})
        with torch.no_grad():
            y = go.load(path).eval()(torch.from_numpy(x)).numpy()
        want = next(iter(ref.values()))
        assert y.shape == want.shape and np.abs(y - want).max() < 1e-4, name
