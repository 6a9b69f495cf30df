"""A tiny run of experiments/pretrained/finetune.py (issue 17): 3 steps on 8 images, under a minute.

Skipped with the reason where the npm model package (scripts/npm_deps.sh) or the Debian texts
(bible-kjv, fortunes; scripts/deps.sh) are missing."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE / "finetune.py"
sys.path.insert(0, str(HERE))


def _missing():
    try:
        import gqalut.onnx as go
        go.model_path("ppocr-rec")
    except Exception as e:  # the npm package not installed, gqalut not built
        return str(e)
    import data
    if shutil.which("bible") is None:
        return "'bible' not installed (Debian bible-kjv; scripts/deps.sh)"
    if not os.path.isdir(data.FORTUNE_DIR):
        return f"{data.FORTUNE_DIR} is missing (Debian fortunes; scripts/deps.sh)"
    return None


def _finetune(args, cwd, timeout=120):
    import gqalut
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(gqalut.__file__)))  # the gqalut this test imports
    import gqalut.onnx as go
    if go.npm_dir():  # the models this test found, whatever the subprocess's folder
        env["GQALUT_NPM_DIR"] = go.npm_dir()
    env["PYTHONPATH"] = os.pathsep.join([pkg, str(HERE)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, str(SCRIPT)] + args, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)


def test_tiny_finetune_does_not_lose_agreement(tmp_path):
    why = _missing()
    if why:
        pytest.skip(f"fine-tune inputs missing: {why}")
    out = tmp_path / "ft"
    r = _finetune(["--samples", "8", "--calib", "4", "--train", "8", "--steps", "3", "--train-batch", "4",
                   "--batch", "8", "--bootstrap", "20", "--lr", "2e-5", "--log-every", "1", "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    rows = res["rows"]
    assert set(rows) == {"float", "int", "ft_int", "ft_float"}
    assert res["labels_used"] is False and res["steps"] == 3 and len(res["log"]) == 3
    assert all(l["kl"] >= 0 and l["ctc"] == 0 for l in res["log"])
    before, after = rows["int"]["agree"][0], rows["ft_int"]["agree"][0]
    assert 0.3 < before < 1.0
    # the integer model moves towards float: agreement does not fall, the distillation KL does not grow
    assert after >= before, (before, after)
    assert rows["ft_int"]["kl"][0] <= rows["int"]["kl"][0]
    assert 0 < res["weight_drift"] < 0.05  # a short fine-tune: the weights barely move
    md = (out / "finetune.md").read_text()
    assert "| integer, fine-tuned |" in md and "no labels" in md


@pytest.mark.parametrize("args,needle", [
    (["--steps", "-1"], "--steps must be at least 0, got -1"),
    (["--method", "nope"], "--method: unknown value 'nope'"),
    (["--lr", "0"], "--lr must be a positive number, got 0.0"),
    (["--entries", "300"], "--entries must be in [2, 64], got 300"),
    (["--ctc-weight", "-1"], "--ctc-weight must be >= 0, got -1.0"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
])
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, capsys, args, needle):
    import finetune  # in-process: the checks come before any data or model is touched
    try:
        rc = finetune.main(args + ["--out", str(tmp_path / "ft")])
    except SystemExit as e:  # argparse's own errors (one line through finetune's parser)
        rc = e.code
    assert rc == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("finetune.py: error: ") and needle in lines[0], lines
    assert not (tmp_path / "ft").exists()
