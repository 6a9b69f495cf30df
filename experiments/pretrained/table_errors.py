"""Why a table that is best by MSE over its range can be worse inside a model: each method's table
error measured under the model's own input distribution (histograms of the activation inputs of
a float run on unlabelled calibration images), beside the uniform-range MSE the searches minimize.

  PYTHONPATH=build/python /usr/bin/python3 experiments/pretrained/table_errors.py [--images 32] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import intops  # noqa: E402
import models  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=32, help="calibration images [%(default)s]")
    ap.add_argument("--entries", default="8,16", help="[%(default)s]")
    ap.add_argument("--out", help="write the markdown table here")
    args = ap.parse_args()
    import gqalut.onnx as go
    a = models.OnnxAdapter(go.model_path("ppocr-rec"))
    cs = data.Charset(go.model_path("ppocr-keys"))
    S = data.ocr_samples(args.images, 4242, cs)
    X = [data.preprocess(s.image) for s in S]
    step = 2.0 ** -9
    hists = {}

    def rec(kind):
        def f(x, site):
            q = torch.clamp(torch.round(x * 2 ** 9), -32768, 32767).to(torch.int64).reshape(-1) + 32768
            h = torch.bincount(q, minlength=65536).double()
            hists[kind] = hists.get(kind, 0) + h
            return intops._EXACT[kind](x)
        return f

    for idx, arr in data.batches(X, 16):
        a.run(torch.from_numpy(arr), {k: rec(k) for k in ("hswish", "hsigmoid", "silu")})
    cal = intops.Calibration()
    lines = ["| function | method | entries | MSE on the fit range (uniform) | MSE under the model's inputs | mean error under the model's inputs |",
             "|---|---|---|---|---|---|"]
    x = (np.arange(65536) - 32768) * step
    for kind, h in hists.items():
        w = h.numpy() / h.sum().item()
        ex = intops._EXACT[kind](torch.from_numpy(x)).numpy()
        st = intops.SiteStats()
        st.add(torch.tensor([x[w > 0].min(), x[w > 0].max()]))
        for e in [int(v) for v in args.entries.split(",")]:
            for m in ("optimal", "ga-faithful", "nnlut", "uniform", "official"):
                bank = intops.TableBank(m, e, cal, "build-pretrained/tables")
                t = bank.table(kind)
                if bank.notes and m == "official":
                    continue
                site = intops.ActivationSite(kind, t, st, "int16")
                y = site(torch.from_numpy(x)).numpy()
                d = y - ex
                r = intops.FIT_RANGE[kind]
                inr = (x >= r[0]) & (x < r[1])
                lines.append(f"| {kind} | {m} | {e} | {np.mean(d[inr] ** 2):.2e} | {np.sum(w * d * d):.2e} | "
                             f"{np.sum(w * d):+.2e} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
