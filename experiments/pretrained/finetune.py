#!/usr/bin/python3
"""A short post-training fine-tune of PP-OCRv4 with every non-linear operation integer (issue 17).

The integer operations of run.py (intops.IntOps: the method's tables, calibrated scales) stay in
the loop through straight-through estimators: each site's forward value is the integer
operation's output, its backward is the gradient of the exact float function at the same input.
Loss: distillation to the float model's output distribution, KL(float || student) per output
frame over all classes (the student's final softmax taken in float from its logits, since the
uint8 probabilities have no useful gradient), no labels; `--ctc-weight W` adds W x CTC loss with
the rendered labels (then labels are used: reported as such). Trained: every convolution /
linear weight and bias and BatchNorm scale and shift (LayerNorm gamma and beta stay fixed: the
integer LayerNorm's gamma codes are set when its site is built; BatchNorm's running statistics
stay fixed). Fine-tune data: rendered snippets of another seed, texts equal
to an evaluation label removed (disjoint from the evaluation set).

Evaluation exactly as `run.py ocr`: the same evaluation images (`--samples`, `--seed`), batches,
calibration images, measures (argmax agreement and KL(float || int) per frame against the
original float model, exact match, CER) and paired 95% bootstrap intervals, for the original
float model, the integer model before and after the fine-tune, and the fine-tuned weights run in
float (their drift from the original). Writes DIR/results.json and DIR/finetune.md. Example:

  finetune.py --samples 400 --train 1200 --steps 300 --out build-pretrained/finetune

Bad input: one line 'finetune.py: error: ...' on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from data import UsageError  # noqa: E402

LOSSES = ("kl", "kl+ctc")


def build_parser() -> argparse.ArgumentParser:
    import intops
    p = argparse.ArgumentParser(prog="finetune.py", description=__doc__.split("\n")[0],
                                epilog=__doc__[__doc__.index("The integer"):],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build-pretrained/finetune", help="output folder [%(default)s]")
    p.add_argument("--method", default="optimal", help="table method (intops.METHODS) [%(default)s]")
    p.add_argument("--entries", type=int, default=8, help="table entries [%(default)s]")
    p.add_argument("--samples", type=int, default=400, help="evaluation images (run.py ocr's set for this count) [%(default)s]")
    p.add_argument("--calib", type=int, default=64, help="unlabelled calibration images (seed + 1000, as run.py) [%(default)s]")
    p.add_argument("--train", type=int, default=1200, help="fine-tune images (seed + 2000) [%(default)s]")
    p.add_argument("--steps", type=int, default=300, help="optimizer steps [%(default)s]")
    p.add_argument("--train-batch", type=int, default=8, help="images per step [%(default)s]")
    p.add_argument("--lr", type=float, default=2e-5, help="Adam learning rate [%(default)s]")
    p.add_argument("--ctc-weight", type=float, default=0.0,
                   help="weight of a CTC loss with the rendered labels (0: distillation only, no labels) [%(default)s]")
    p.add_argument("--batch", type=int, default=16, help="evaluation images per batch (run.py's default) [%(default)s]")
    p.add_argument("--ln-mode", default="row+beta", choices=("tensor", "row", "row+beta"), help="as run.py [%(default)s]")
    p.add_argument("--act-mode", default="int16", choices=intops.ACT_MODES, help="as run.py [%(default)s]")
    p.add_argument("--seed", type=int, default=1, help="data seed (evaluation set as run.py) [%(default)s]")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples [%(default)s]")
    p.add_argument("--threads", type=int, default=1, help="torch threads [%(default)s]")
    p.add_argument("--tables", help="table cache folder [DIR/tables]")
    p.add_argument("--log-every", type=int, default=10, help="steps between loss lines on stderr [%(default)s]")

    def one_line_error(msg):  # argparse's usage + error -> one line, exit code 2
        sys.stderr.write(f"finetune.py: error: {msg}\n")
        sys.exit(2)
    p.error = one_line_error
    return p


def check_args(args) -> None:
    import intops
    if args.method not in intops.METHODS or args.method == "quant-only":
        known = ", ".join(m for m in intops.METHODS if m != "quant-only")
        raise UsageError(f"--method: unknown value '{args.method}' (known: {known})")
    for name, lo in (("samples", 1), ("calib", 1), ("train", 1), ("steps", 0), ("train_batch", 1), ("batch", 1),
                     ("bootstrap", 1), ("threads", 1), ("log_every", 1)):
        v = getattr(args, name)
        if v < lo:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {lo}, got {v}")
    if not 2 <= args.entries <= 64:
        raise UsageError(f"--entries must be in [2, 64], got {args.entries}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive number, got {args.lr}")
    if not (math.isfinite(args.ctc_weight) and args.ctc_weight >= 0):
        raise UsageError(f"--ctc-weight must be >= 0, got {args.ctc_weight}")


# ---------------------------------------------------------------- straight-through integer ops

def ste_ops(int_ops, exact, logits_site, store):
    """{kind: callable} whose forward value is the integer op's output and whose gradient is the
    exact float function's; the input of `logits_site` (the final softmax) goes to store['logits']."""
    import torch
    out = {}

    def st(yi, yf):
        return yf + (yi - yf).detach()

    for kind, f in int_ops.items():
        if kind == "layernorm":
            def ln(x, g, b, eps, site, f=f):
                with torch.no_grad():
                    yi = f(x.detach(), g, b, eps, site)
                return st(yi, torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, eps))
            out[kind] = ln
        elif kind == "softmax":
            def sm(x, site, dim=-1, f=f):
                if site == logits_site:
                    store["logits"] = x
                with torch.no_grad():
                    yi = f(x.detach(), site, dim)
                return st(yi, torch.softmax(x, dim=dim))
            out[kind] = sm
        else:
            def act(x, site, f=f, g=exact[kind]):
                with torch.no_grad():
                    yi = f(x.detach(), site)
                return st(yi, g(x))
            out[kind] = act
    return out


def frame_counts(widths, T, W):
    """Frames of each image's own width (+1), as study.ocr_run counts them."""
    return [min(T, math.ceil(T * w / W) + 1) for w in widths]


def train(args, adapter, teacher, train_inputs, train_labels, charset, io, logits_site, prog):
    """Adam on every conv/linear weight and bias and BatchNorm scale/shift (LayerNorm affine and
    BatchNorm statistics fixed), distilling the float teacher."""
    import numpy as np
    import torch
    import data
    import intops
    model = adapter.model
    frozen = {id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()}
    # BatchNormalization's running mean and variance (inputs 3, 4) are statistics, not weights:
    # gqalut.onnx already detaches them; kept out of the optimizer so that no change can train them
    for key, ins, _ in model._program:
        if getattr(model.ops[key], "op_type", None) == "BatchNormalization":
            for name in ins[3:5]:
                if name in model._const_attr:
                    frozen.add(id(getattr(model.consts, model._const_attr[name])))
    params = []
    for p in model.parameters():
        p.requires_grad_(id(p) not in frozen)
        if id(p) not in frozen:
            params.append(p)
    opt = torch.optim.Adam(params, lr=args.lr)
    store = {}

    def keep_logits(z, site, dim=-1):  # the float teacher: its final softmax's input kept
        if site == logits_site:
            store["t_logits"] = z
        return torch.softmax(z, dim=dim)

    ops = ste_ops(io.ops(), intops._EXACT, logits_site, store)
    batches = data.batches(train_inputs, args.train_batch)
    rng = random.Random(args.seed + 2000)
    order = []
    log = []
    model.train()
    t0 = time.time()
    for step in range(args.steps):
        if not order:
            order = list(range(len(batches)))
            rng.shuffle(order)
        idx, arr = batches[order.pop()]
        x = torch.from_numpy(arr)
        with torch.no_grad():
            teacher.current_ops = {"softmax": keep_logits}
            try:
                teacher.model(x)
            finally:
                teacher.current_ops = None
            tl = store.pop("t_logits")
        adapter.current_ops = ops
        try:
            adapter.model(x)
        finally:
            adapter.current_ops = None
        sl = store.pop("logits")
        T = sl.shape[1]
        fr = frame_counts([train_inputs[i].shape[2] for i in idx], T, arr.shape[3])
        mask = torch.zeros(sl.shape[:2])
        for k, t in enumerate(fr):
            mask[k, :t] = 1.0
        logp_t = torch.log_softmax(tl, dim=-1)
        logp_s = torch.log_softmax(sl, dim=-1)
        kl = ((logp_t.exp() * (logp_t - logp_s)).sum(-1) * mask).sum() / mask.sum()
        loss = kl
        ctc = torch.zeros(())
        if args.ctc_weight > 0:
            tg = [torch.tensor([charset.index[c] for c in train_labels[i]], dtype=torch.long) for i in idx]
            ctc = torch.nn.functional.ctc_loss(logp_s.transpose(0, 1), torch.cat(tg), torch.tensor(fr),
                                               torch.tensor([len(t) for t in tg]), blank=0, zero_infinity=True)
            loss = loss + args.ctc_weight * ctc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        log.append({"step": step + 1, "loss": float(loss), "kl": float(kl), "ctc": float(ctc)})
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            recent = log[-args.log_every:]
            el = time.time() - t0
            prog.done(f"step {step + 1}/{args.steps}: KL {np.mean([r['kl'] for r in recent]):.4f}"
                      + (f" CTC {np.mean([r['ctc'] for r in recent]):.4f}" if args.ctc_weight > 0 else "")
                      + f" ({el:.0f} s, ETA {el / (step + 1) * (args.steps - step - 1):.0f} s)")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return log, time.time() - t0


def drift(model, original):
    """Relative L2 change of the trained weights: ||w - w0|| / ||w0|| over all of them."""
    num = den = 0.0
    for p, p0 in zip(model.parameters(), original.parameters()):
        num += float(((p - p0) ** 2).sum())
        den += float((p0 ** 2).sum())
    return math.sqrt(num / max(den, 1e-30))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        check_args(args)
        return run(args)
    except Exception as e:  # bad arguments, data sources missing, a model the loader refuses: one line
        import data
        if not (isinstance(e, (UsageError, FileNotFoundError, ValueError, data.DataError))
                or type(e).__name__ in ("OnnxRuntimeUnavailable", "GraphError")):
            raise
        sys.stderr.write(f"finetune.py: error: {e}\n")
        return 2


def run(args) -> int:
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    import data
    import intops
    import models
    import study
    import gqalut.onnx as go
    prog = study.Progress()
    os.makedirs(args.out, exist_ok=True)
    onnx_path, keys = go.model_path("ppocr-rec"), go.model_path("ppocr-keys")
    charset = data.Charset(keys)
    t0 = time.time()
    samples = data.ocr_samples(args.samples, args.seed, charset)
    calib = data.ocr_samples(args.calib, args.seed + 1000, charset)
    eval_texts = {s.text for s in samples}
    pool = data.ocr_samples(args.train + args.train // 4 + 8, args.seed + 2000, charset)
    trainset = [s for s in pool if s.text not in eval_texts][:args.train]
    prog.done(f"data: {len(samples)} evaluation, {len(calib)} calibration, {len(trainset)} fine-tune images "
              f"({len(pool) - len([s for s in pool if s.text not in eval_texts])} fine-tune snippets dropped: "
              f"text equal to an evaluation label) ({time.time() - t0:.0f} s)")
    inputs = [data.preprocess(s.image) for s in samples]
    cal_inputs = [data.preprocess(s.image) for s in calib]
    tr_inputs = [data.preprocess(s.image) for s in trainset]
    labels = [s.text for s in samples]
    adapter = models.OnnxAdapter(onnx_path)
    teacher = models.OnnxAdapter(onnx_path)
    kinds = tuple(k for k in intops.ALL_KINDS if any(kk == k for kk, _ in adapter.sites()))
    logits_site = [s for k, s in adapter.sites() if k == "softmax"][-1]
    cal = intops.Calibration()
    study.ocr_calibrate(adapter, cal_inputs, cal.ops(), args.batch, prog)
    tables = args.tables or os.path.join(args.out, "tables")
    io = intops.IntOps(args.method, args.entries, cal, kinds, tables, ln_mode=args.ln_mode, act_mode=args.act_mode)
    io.prepare()

    rows = {}
    per, ref = study.ocr_run(adapter, inputs, None, args.batch, prog, "float", labels, charset, keep_ref=True)
    rows["float"] = per
    rows["int"], _ = study.ocr_run(adapter, inputs, io.ops(), args.batch, prog, "integer (not fine-tuned)",
                                   labels, charset, ref=ref)
    prog.done(f"before: agreement {rows['int']['agree'].sum() / rows['int']['frames'].sum():.5f} "
              f"exact {rows['int']['exact'].mean():.4f} (float {per['exact'].mean():.4f})")
    log, secs = train(args, adapter, teacher, tr_inputs, [s.text for s in trainset], charset, io, logits_site, prog)
    rows["ft_int"], _ = study.ocr_run(adapter, inputs, io.ops(), args.batch, prog, "integer (fine-tuned)",
                                      labels, charset, ref=ref)
    rows["ft_float"], _ = study.ocr_run(adapter, inputs, None, args.batch, prog, "float (fine-tuned weights)",
                                        labels, charset, ref=ref)
    fl = rows["float"]
    res = {"command": " ".join(["finetune.py"] + args.argv),
           "method": args.method, "entries": args.entries, "ln_mode": args.ln_mode, "act_mode": args.act_mode,
           "samples": len(samples), "calibration": len(calib), "train_images": len(trainset), "steps": args.steps,
           "train_batch": args.train_batch, "lr": args.lr, "ctc_weight": args.ctc_weight,
           "labels_used": args.ctc_weight > 0, "seed": args.seed, "train_seconds": round(secs, 1),
           "weight_drift": drift(adapter.model, teacher.model), "log": log, "rows": {}}
    for name, per in rows.items():
        b = study.bootstrap(per, fl, args.bootstrap)
        r = {"exact": b["exact"], "exact_diff": b["exact_diff"], "cer": b["cer"], "cer_diff": b["cer_diff"]}
        if name != "float":
            r["agree"], r["kl"] = b["agree"], b["kl"]
        res["rows"][name] = r
        np.savez_compressed(os.path.join(args.out, f"{name}.npz"), **per)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    md = table(res)
    with open(os.path.join(args.out, "finetune.md"), "w", encoding="utf-8") as f:
        f.write(md)
    sys.stdout.write(md)
    return 0


ROW_NAMES = {"float": "float (original weights)", "int": "integer, not fine-tuned",
             "ft_int": "integer, fine-tuned", "ft_float": "float, fine-tuned weights"}


def table(res) -> str:
    def ci(v, sci=False):
        if sci:
            return f"{v[0]:.2e} [{v[1]:.2e}, {v[2]:.2e}]"
        return f"{v[0]:.4f} [{v[1]:.4f}, {v[2]:.4f}]"

    loss = "KL to float" + (f" + {res['ctc_weight']:g} x CTC (rendered labels)" if res["labels_used"] else " (no labels)")
    lines = [f"{res['method']} {res['entries']}-entry tables, act {res['act_mode']}, LN {res['ln_mode']}; "
             f"{res['steps']} steps x {res['train_batch']} images ({res['train_images']} fine-tune images), "
             f"Adam lr {res['lr']:g}, loss {loss}; {res['train_seconds']:.0f} s; relative weight change "
             f"{res['weight_drift']:.2e}; evaluation {res['samples']} images.", "",
             "| model | argmax agreement per frame | KL(float ‖ model) per frame | exact match | Δ exact vs float "
             "| CER | Δ CER vs float |", "|---|---|---|---|---|---|---|"]
    for name in ("float", "int", "ft_int", "ft_float"):
        r = res["rows"][name]
        a = ci(r["agree"]) if "agree" in r else "1"
        k = ci(r["kl"], True) if "kl" in r else "0"
        lines.append(f"| {ROW_NAMES[name]} | {a} | {k} | {ci(r['exact'])} | {ci(r['exact_diff'])} | {ci(r['cer'])} "
                     f"| {ci(r['cer_diff'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
