"""`run.py use`: USE-lite verse retrieval (KJV query -> World English Bible twin) under every configuration."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

import data
import intops
import study
from data import UsageError


def main(args) -> None:
    import models
    if args.pairs < 2 or args.calib < 1:
        raise UsageError("--pairs must be at least 2 and --calib at least 1")
    model_dir = args.model_dir
    if model_dir is None:
        import gqalut.onnx as go
        model_dir = os.path.dirname(go.model_path("use-lite"))
    prog = study.Progress()
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    allp = data.verse_pairs(args.pairs + args.calib, seed=args.seed)
    pairs, calib = allp[:args.pairs], allp[args.pairs:]
    adapter = models.UseAdapter(model_dir)
    kinds = tuple(k for k in intops.ALL_KINDS if any(kk == k for kk, _ in adapter.sites()))
    cal = intops.Calibration()
    study.use_outputs(adapter, [a for a, _ in calib] + [b for _, b in calib], cal.ops(), args.batch, prog, "calibration")
    prog.done("calibration ranges:\n  " + "\n  ".join(cal.summary()))
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump({"kind": "use", "pairs": len(pairs), "calibration": len(calib), "kinds": list(kinds),
                   "sites": adapter.sites(), "calibration_ranges": cal.summary(),
                   "calibration_note": "other verses (both translations), no pairing used"}, f)
    res_path = os.path.join(args.out, "results.jsonl")
    done = study.load_done(res_path)
    cfgs = study.configs(args.method_list, args.entry_list, kinds, not args.no_ablation, args.ln_mode, args.act_mode,
                         args.modes_study, ln_bits=args.ln_bits)
    A = [a for a, _ in pairs]
    B = [b for _, b in pairs]
    n_abl = args.ablation_pairs or len(pairs)
    fa = fb = None
    fl_path = os.path.join(args.out, "samples", "float.pt")
    t_start = time.time()
    for ci, cfg in enumerate(cfgs):
        if cfg.key in done and cfg.method != "float":
            continue
        n = len(pairs) if cfg.study == "main" else min(n_abl, len(pairs))
        what = f"[{ci + 1}/{len(cfgs)}] {cfg.title}"
        rec = {"key": cfg.key, "method": cfg.method, "entries": cfg.entries, "ops": cfg.label, "ln_mode": cfg.ln_mode,
               "act_mode": cfg.act_mode, "study": cfg.study, "ln_bits": cfg.ln_bits, "n": n}
        t0 = time.time()
        if cfg.method == "float":
            if cfg.key in done and os.path.isfile(fl_path):
                fa, fb = torch.load(fl_path)
                continue
            fa = study.use_outputs(adapter, A, None, args.batch, prog, what + " KJV")
            fb = study.use_outputs(adapter, B, None, args.batch, prog, what + " WEB")
            torch.save((fa, fb), fl_path)
            per = study.use_measures(fa, fb, None, None)
            np.savez_compressed(os.path.join(args.out, "samples", "float.npz"), **per)
            rec["file"] = "float.npz"
        else:
            io, got = study.run_integer(cfg, cal, args.out, rec, res_path, prog, what, lambda ops: (
                study.use_outputs(adapter, A[:n], ops, args.batch, prog, what + " KJV"),
                study.use_outputs(adapter, B[:n], ops, args.batch, prog, what + " WEB")))
            if got is None:
                continue
            a, b = got
            fan, fbn = fa[:n] / fa[:n].norm(dim=1, keepdim=True), fb[:n] / fb[:n].norm(dim=1, keepdim=True)
            per = study.use_measures(a, b, fan, fbn)
            if n < len(pairs):  # the ablation's float baseline on the same gallery
                flp = study.use_measures(fa[:n], fb[:n], None, None)
                np.savez_compressed(os.path.join(args.out, "samples", f"float_{n}.npz"), **flp)
            rec["file"] = cfg.file
            np.savez_compressed(os.path.join(args.out, "samples", rec["file"]), **per)
            rec["notes"] = io.bank.notes
        rec["seconds"] = round(time.time() - t0, 1)
        rec["recall"] = float(per["recall"].mean())
        rec["cos"] = float(per["cos"].mean())
        rec["agree"] = float(per["agree"].mean())
        study.append(res_path, rec)
        el = time.time() - t_start
        prog.done(f"{what}: recall@1 {rec['recall']:.4f} cos {rec['cos']:.5f} agree {rec['agree']:.4f} "
                  f"({rec['seconds']:.0f} s; {el / 60:.1f} min so far)")
