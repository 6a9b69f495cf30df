"""`run.py ocr`: PP-OCRv4 (or a user's ONNX CTC recognizer) under every configuration."""

from __future__ import annotations

import json
import os
import time

import numpy as np

import data
import intops
import study
from data import UsageError


def _model_paths(args):
    onnx_path, keys = args.onnx, args.keys
    if onnx_path is None or keys is None:
        import gqalut.onnx as go
        onnx_path = onnx_path or go.model_path("ppocr-rec")
        keys = keys or go.model_path("ppocr-keys")
    for what, p in (("--onnx", onnx_path), ("--keys", keys)):
        if not os.path.isfile(p):
            raise UsageError(f"{what}: '{p}' does not exist")
    return onnx_path, keys


def main(args) -> None:
    import models
    if args.images and args.text:
        raise UsageError("give --images or --text, not both")
    if args.samples < 1 or args.calib < 1:
        raise UsageError("--samples and --calib must be at least 1")
    styles = study_list(args.styles, "styles", ("clean", "hard"))
    sources = study_list(args.sources, "sources", ("kjv", "web", "fortunes"))
    onnx_path, keys = _model_paths(args)
    charset = data.Charset(keys)
    prog = study.Progress()
    old_meta = os.path.join(args.out, "meta.json")
    if os.path.isfile(old_meta):  # resuming: the float reference's frames depend on the batching
        with open(old_meta, encoding="utf-8") as f:
            old = json.load(f)
        if old.get("batch", args.batch) != args.batch:
            raise UsageError(f"{args.out} holds a run with --batch {old.get('batch')}; resume with the same "
                             f"--batch (frames depend on the batch's padding) or use another --out")
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    t0 = time.time()
    # evaluation data (labels used only for the accuracy measures) and calibration data (other images, no labels)
    if args.images:
        samples = data.samples_from_images(args.images, limit=args.samples)
        calib = samples[::max(1, len(samples) // args.calib)][:args.calib]
        calib_note = "every k-th of the user's images, labels unused"
    elif args.text:
        samples = data.samples_from_text_file(args.text, charset, args.seed, styles, limit=args.samples)
        calib = data.ocr_samples(args.calib, args.seed + 1000, charset, styles, sources)
        calib_note = "rendered Debian snippets (seed + 1000), labels unused"
    else:
        samples = data.ocr_samples(args.samples, args.seed, charset, styles, sources)
        calib = data.ocr_samples(args.calib, args.seed + 1000, charset, styles, sources)
        calib_note = "rendered snippets of another seed, labels unused"
    prog.done(f"data: {len(samples)} evaluation images, {len(calib)} calibration images ({time.time() - t0:.0f} s)")
    inputs = [data.preprocess(s.image, args.height) for s in samples]
    cal_inputs = [data.preprocess(s.image, args.height) for s in calib]
    labels = [s.text for s in samples]
    adapter = models.OnnxAdapter(onnx_path)
    kinds = tuple(k for k in intops.ALL_KINDS if any(kk == k for kk, _ in adapter.sites()))
    cal = intops.Calibration()
    study.ocr_calibrate(adapter, cal_inputs, cal.ops(), args.batch, prog)
    meta = {"model": os.path.abspath(onnx_path), "keys": os.path.abspath(keys), "samples": len(samples),
            "calibration": len(calib), "calibration_note": calib_note, "kinds": list(kinds),
            "sites": adapter.sites(), "kept": adapter.kept, "calibration_ranges": cal.summary(),
            "styles": [s.style for s in samples], "sources": [s.source for s in samples],
            "fonts": [s.font for s in samples], "labels": labels, "kind": "ocr", "batch": args.batch}
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f)
    prog.done("calibration ranges:\n  " + "\n  ".join(cal.summary()))
    run_all(args, adapter, inputs, labels, charset, cal, kinds, prog)


def study_list(text, what, allowed):
    from run import _parse_list
    return _parse_list(text, what, allowed)


def run_all(args, adapter, inputs, labels, charset, cal, kinds, prog) -> None:
    res_path = os.path.join(args.out, "results.jsonl")
    done = study.load_done(res_path)
    cfgs = study.configs(args.method_list, args.entry_list, kinds, not args.no_ablation, args.ln_mode, args.act_mode,
                         args.modes_study, ln_bits=args.ln_bits)
    n_abl = args.ablation_samples or len(inputs)
    fl_path = os.path.join(args.out, "samples", "float.npz")
    t_start = time.time()
    ref = None
    for ci, cfg in enumerate(cfgs):
        n = len(inputs) if cfg.study == "main" else min(n_abl, len(inputs))
        if cfg.key in done and cfg.method != "float":
            continue
        if cfg.method == "float" and cfg.key in done and os.path.isfile(fl_path):
            import torch
            ref = torch.load(os.path.join(args.out, "samples", "float_ref.pt"))
            continue
        what = f"[{ci + 1}/{len(cfgs)}] {cfg.title}"
        rec = {"key": cfg.key, "method": cfg.method, "entries": cfg.entries, "ops": cfg.label, "ln_mode": cfg.ln_mode,
               "act_mode": cfg.act_mode, "study": cfg.study, "ln_bits": cfg.ln_bits,
               "n": n}
        t0 = time.time()
        if cfg.method == "float":
            per, ref = study.ocr_run(adapter, inputs, None, args.batch, prog, what, labels, charset, keep_ref=True)
            np.savez_compressed(fl_path, **per)
            import torch
            torch.save(ref, os.path.join(args.out, "samples", "float_ref.pt"))
        else:
            io, got = study.run_integer(cfg, cal, args.out, rec, res_path, prog, what, lambda ops: study.ocr_run(
                adapter, inputs[:n], ops, args.batch, prog, what, labels[:n], charset, ref=ref[:n]))
            if got is None:
                continue
            per, _ = got
            np.savez_compressed(os.path.join(args.out, "samples", cfg.file), **per)
            rec["notes"] = io.bank.notes
            rec["scales"] = {f"{k}:{s}": _scale_desc(v) for (k, s), v in io.sites.items()}
        rec["file"] = cfg.file if cfg.method != "float" else "float.npz"
        rec["seconds"] = round(time.time() - t0, 1)
        rec["exact"] = float(per["exact"].mean())
        rec["cer"] = float(per["cer"].mean())
        if cfg.method != "float":
            rec["agree"] = float(per["agree"].sum() / per["frames"].sum())
            rec["kl"] = float(per["kl"].sum() / per["frames"].sum())
        study.append(res_path, rec)
        el = time.time() - t_start
        prog.done(f"{what}: exact {rec['exact']:.4f} CER {rec['cer']:.4f}"
                  + (f" agree {rec['agree']:.5f} KL {rec['kl']:.2e}" if 'agree' in rec else "")
                  + f" ({rec['seconds']:.0f} s; {el / 60:.1f} min so far)")


def _scale_desc(site) -> str:
    parts = []
    for a in ("n", "in_frac", "out_frac", "gamma_frac", "mode"):
        if hasattr(site, a):
            parts.append(f"{a}={getattr(site, a)}")
    return " ".join(parts)
