"""A reduced run of experiments/pretrained (issue 17): PP-OCRv4 and USE-lite, a few dozen inputs.

Skipped with the reason where the npm packages (scripts/npm_deps.sh) or the Debian text sources
(bible-kjv, sword-text-web + diatheke, fortunes; scripts/deps.sh) are missing."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUDY = ROOT / "experiments" / "pretrained"
RUN = STUDY / "run.py"


def _npm_ready():
    try:
        import gqalut.onnx as go
        go.model_path("ppocr-rec")
        go.model_path("use-lite")
        return None
    except Exception as e:  # OnnxRuntimeUnavailable, ImportError
        return str(e)


_why = _npm_ready()
if _why is None:
    for tool, pkg in (("bible", "bible-kjv"), ("diatheke", "diatheke + sword-text-web")):
        if shutil.which(tool) is None:
            _why = f"'{tool}' not installed (Debian {pkg}; scripts/deps.sh)"
pytestmark = pytest.mark.skipif(_why is not None, reason=f"pretrained study inputs missing: {_why}")


def _run(args, tmp_path, timeout=170):
    import gqalut
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(gqalut.__file__)))  # the gqalut this test imports
    paths = [pkg] + [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p] + [str(STUDY)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, str(RUN)] + args, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=tmp_path)


def _results(out):
    res = {}
    with open(out / "results.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                res[r["method"] + "/" + r["ops"]] = r
    return res


def test_ocr_reduced_run_and_report(tmp_path):
    out = tmp_path / "ocr"
    r = _run(["ocr", "--samples", "16", "--calib", "8", "--methods", "optimal,quant-only,uniform", "--entries", "8",
              "--no-ablation", "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = _results(out)
    assert res["float/none"]["exact"] >= 0.5  # half the snippets are clean renderings, which PP-OCRv4 reads
    q = res["quant-only/all"]
    assert q["agree"] >= 0.97 and q["kl"] < 0.1  # int16 activation inputs, int8 codes elsewhere: near float
    opt = res["optimal/all"]
    assert 0.5 < opt["agree"] <= 1.0 and opt["kl"] >= 0
    # uniform's 8-entry exp2m1 table: refused by the softmax datapath, or run if the library accepts it now
    u = res["uniform/all"]
    assert ("refused" in u and "softmax" in u["refused"]) or 0.0 < u["agree"] <= 1.0
    meta = json.loads((out / "meta.json").read_text())
    assert {k for k, _ in meta["sites"]} == {"hswish", "hsigmoid", "silu", "softmax", "layernorm"}
    assert sum(1 for k, _ in meta["sites"] if k == "hswish") == 28
    assert len(np.load(out / "samples" / "float.npz")["exact"]) == 16
    r = _run(["report", "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    md = (out / "tables.md").read_text()
    assert "| optimum 8 |" in md and "quantize-only control" in md


def test_use_reduced_run(tmp_path):
    out = tmp_path / "use"
    r = _run(["use", "--pairs", "24", "--calib", "8", "--methods", "optimal", "--entries", "8", "--no-ablation",
              "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = _results(out)
    assert res["float/none"]["recall"] >= 0.8  # KJV -> WEB twins among 24 verses
    o = res["optimal/all"]
    assert o["cos"] >= 0.98 and o["recall"] >= 0.7


def test_use_tokenizer_and_sites():
    sys.path.insert(0, str(STUDY))
    import gqalut.onnx as go
    import use_model
    m = use_model.UseModel(os.path.dirname(go.model_path("use-lite")))
    ids = m.tokenizer.encode("Hello world, this is a test.")
    assert [m.tokenizer.pieces[i] for i in ids] == ["\u2581H", "ello", "\u2581world", ",", "\u2581this", "\u2581is",
                                                    "\u2581a", "\u2581test", "."]
    assert sorted(k for k, _ in m.sites()) == ["layernorm"] * 4 + ["softmax"] * 2 + ["tanh"]
    e = m.embed(["The cat sat on the mat.", "A cat is sitting on a mat.", "Stock prices fell sharply."])
    assert np.allclose(e.norm(dim=1).numpy(), 1.0, atol=1e-5)
    s = (e @ e.T).numpy()
    assert s[0, 1] > s[0, 2] and s[0, 1] > s[1, 2]


def test_user_text_and_images(tmp_path):
    sys.path.insert(0, str(STUDY))
    import data
    from PIL import Image
    txt = tmp_path / "lines.txt"
    txt.write_text("The quick brown fox\njumps over the lazy dog\n", encoding="utf-8")
    r = _run(["ocr", "--text", str(txt), "--styles", "clean", "--calib", "4", "--methods", "quant-only",
              "--entries", "8", "--no-ablation", "--out", str(tmp_path / "t")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _results(tmp_path / "t")["float/none"]["n"] == 2
    img_dir = tmp_path / "imgs"
    img_dir.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i, t in enumerate(["In the beginning", "Let there be light"]):
        bgr = data.render(t, data.FONTS["dejavu-sans"], "clean", rng)
        Image.fromarray(bgr[:, :, ::-1]).save(img_dir / f"{i}.png")
        lines.append(f"{i}.png\t{t}")
    (img_dir / "labels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = _run(["ocr", "--images", str(img_dir / "labels.txt"), "--calib", "2", "--methods", "quant-only",
              "--entries", "8", "--no-ablation", "--out", str(tmp_path / "i")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _results(tmp_path / "i")["float/none"]["exact"] == 1.0
    # bad input: one line naming the rule and the file, exit code 2
    (img_dir / "bad.txt").write_text("0.png In the beginning\n", encoding="utf-8")
    r = _run(["ocr", "--images", str(img_dir / "bad.txt"), "--out", str(tmp_path / "b")], tmp_path)
    assert r.returncode == 2 and "bad.txt:1: expected 'image_path<TAB>label'" in r.stderr
    assert r.stderr.count("\n") == 1
    r = _run(["ocr", "--methods", "magic", "--out", str(tmp_path / "b")], tmp_path)
    assert r.returncode == 2 and "unknown value 'magic'" in r.stderr
    r = _run(["ocr", "--onnx", str(tmp_path / "none.onnx"), "--out", str(tmp_path / "b")], tmp_path)
    assert r.returncode == 2 and "none.onnx" in r.stderr
