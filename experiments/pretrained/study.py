"""The study's loop: calibrate on unlabelled inputs, run float once, run each configuration
(method x entries x which operations are integer), keep per-sample measures (so intervals can be
bootstrapped later, paired with float), append each finished configuration to a JSON-lines file
(a rerun skips what is there: long runs resume)."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

import data
import intops

KL_FLOOR = 2.0 ** -24  # output probabilities are floored here (and renormalized) before the KL: an integer
# softmax gives exact zeros; 6,625 classes x 2^-24 = 4e-4 of added mass at most


class Progress:
    """One status line on stderr, rewritten in place when stderr is a terminal, else a line every
    `every` seconds."""

    def __init__(self, every: float = 20.0):
        self.tty = sys.stderr.isatty()
        self.every, self.last = every, 0.0

    def __call__(self, msg: str, force: bool = False) -> None:
        now = time.time()
        if self.tty:
            sys.stderr.write("\r\033[K" + msg)
            sys.stderr.flush()
        elif force or now - self.last >= self.every:
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
            self.last = now

    def done(self, msg: str) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()


@dataclass
class Config:
    method: str      # float | a method of intops.METHODS
    entries: int     # 0 for float / quant-only
    kinds: Tuple[str, ...]
    label: str       # "all" or the one kind
    ln_mode: str = "row+beta"
    act_mode: str = "int16"
    study: str = "main"   # main | ablation | modes
    ln_bits: int = 8      # LayerNorm input/output code width (8: the kernels' and units' datapath; 16)

    @property
    def key(self) -> str:
        return f"{self.method}|{self.entries}|{self.label}|{self.ln_mode}|{self.act_mode}" + (
            f"|ln{self.ln_bits}" if self.ln_bits != 8 else "")

    @property
    def file(self) -> str:
        return self.key.replace("|", "_").replace("+", "p") + ".npz"

    @property
    def title(self) -> str:
        return (f"{self.method} {self.entries or ''} {self.label} (LN {self.ln_mode}"
                + (f" {self.ln_bits}-bit" if self.ln_bits != 8 else "") + f", act {self.act_mode})")


def configs(methods: Sequence[str], entries: Sequence[int], kinds: Sequence[str], ablation: bool,
            ln_mode: str, act_mode: str, modes: bool, ln_bits: int = 8) -> List[Config]:
    """float; every method all-integer (optimum first); the input-scale policies (optimum and
    quant-only, first entry count); then each operation alone."""
    out = [Config("float", 0, (), "none", ln_mode, act_mode, ln_bits=ln_bits)]
    order = ["optimal"] + [m for m in methods if m != "optimal"]
    e0 = entries[0]
    for e in entries:
        for m in order:
            if m not in methods or (m == "quant-only" and e != e0):
                continue
            out.append(Config(m, 0 if m == "quant-only" else e, tuple(kinds), "all", ln_mode, act_mode,
                              ln_bits=ln_bits))
    if modes:
        act_modes = intops.ACT_MODES if any(k not in ("softmax", "layernorm") for k in kinds) else (act_mode,)
        for am in act_modes:
            for lm in ("tensor", "row", "row+beta"):
                if (am, lm) == (act_mode, ln_mode):
                    continue
                for m in ("optimal", "quant-only"):
                    if m in methods:
                        out.append(Config(m, 0 if m == "quant-only" else e0, tuple(kinds), "all", lm, am, "modes",
                                          ln_bits))
    if ablation:
        for k in kinds:
            for e in entries:
                for m in order:
                    if m not in methods or (m == "quant-only" and e != e0):
                        continue
                    out.append(Config(m, 0 if m == "quant-only" else e, (k,), k, ln_mode, act_mode, "ablation",
                                      ln_bits))
    return out


def load_done(path: str) -> Dict[str, dict]:
    done = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    r = json.loads(line)
                    if not r.get("unavailable"):  # e.g. I-BERT before the library had it: retried
                        done[r["key"]] = r
    return done


def run_integer(cfg: Config, cal: "intops.Calibration", out: str, rec: dict, res_path: str, progress: Progress,
                what: str, run: Callable[[Dict[str, Callable]], object]):
    """One integer configuration: its ops (tables cached under out/tables), prepared, then
    run(ops). Returns (ops, run's result), or (ops, None) when the library refuses the
    configuration (ValueError) or lacks it (NotImplementedError): then rec records why and is
    appended to res_path."""
    io = intops.IntOps(cfg.method, cfg.entries or 8, cal, cfg.kinds, os.path.join(out, "tables"),
                       ln_mode=cfg.ln_mode, act_mode=cfg.act_mode, ln_bits=cfg.ln_bits)
    try:
        io.prepare()
        return io, run(io.ops())
    except (ValueError, NotImplementedError) as e:
        rec["refused"] = str(e)
        rec["unavailable"] = isinstance(e, NotImplementedError)
        append(res_path, rec)
        progress.done(f"{what}: refused: {e}")
        return io, None


def append(path: str, rec: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
        f.flush()
        os.fsync(f.fileno())


# ---------------------------------------------------------------- OCR

TOPK = 16  # the float reference keeps, per frame, its top classes and the remaining mass


def ocr_run(adapter, inputs: List[np.ndarray], ops, batch: int, progress: Progress, what: str,
            labels: List[str], charset: data.Charset, ref=None, keep_ref: bool = False):
    """Runs the model over the inputs in width-sorted batches and measures each image at once
    (outputs are not kept: 2,000 images x 6,625 classes would not fit in memory).

    Per image: exact match and CER of the CTC greedy decoding of the frames of its own width;
    with `ref` (the float run's top-16 classes per frame and their probabilities): argmax
    agreement per frame and KL(float || int) of the distributions coarsened to the float's top 16
    classes plus one bin for the rest (a lower bound of the full KL by the data-processing
    inequality; integer probabilities floored at KL_FLOOR). keep_ref: return the reference too."""
    n = len(inputs)
    m = {k: np.zeros(n) for k in ("exact", "cer", "agree", "frames", "kl")}
    refs = [None] * n
    t0 = time.time()
    done = 0
    for idx, arr in data.batches(inputs, batch):
        y = adapter.run(torch.from_numpy(arr), ops)
        if isinstance(y, tuple):
            y = y[0]
        T, W = y.shape[1], arr.shape[3]
        for k, i in enumerate(idx):  # the frames of this image's own width (+1), not the batch's padding
            t = min(T, math.ceil(T * inputs[i].shape[2] / W) + 1)
            yi = y[k, :t].float()
            ids = yi.argmax(-1)
            pred = charset.decode(ids.tolist())
            m["exact"][i] = float(pred == labels[i])
            m["cer"][i] = data.cer(pred, labels[i])
            m["frames"][i] = t
            if keep_ref:
                pv, pi = yi.topk(TOPK, dim=-1)
                refs[i] = (pi.clone(), pv.double().clone())
            if ref is not None:
                ri, rv = ref[i]
                m["agree"][i] = float((ids == ri[:, 0]).sum())
                q = torch.clamp(yi.double(), min=KL_FLOOR)
                q = q / q.sum(-1, keepdim=True)
                qt = q.gather(1, ri)
                p_rest = torch.clamp(1 - rv.sum(-1), min=0)
                q_rest = torch.clamp(1 - qt.sum(-1), min=KL_FLOOR)
                kl = (rv * (torch.log(torch.clamp(rv, min=1e-300)) - torch.log(qt))).sum(-1)
                kl = kl + p_rest * (torch.log(torch.clamp(p_rest, min=1e-300)) - torch.log(q_rest))
                m["kl"][i] = float(kl.sum())
        del y
        done += len(idx)
        el = time.time() - t0
        progress(f"{what}: {done}/{n} images, {el:.0f} s, ETA {el / done * (n - done):.0f} s")
    return m, refs


def ocr_calibrate(adapter, inputs, ops, batch, progress):
    t0 = time.time()
    done = 0
    for idx, arr in data.batches(inputs, batch):
        adapter.run(torch.from_numpy(arr), ops)
        done += len(idx)
        progress(f"calibration: {done}/{len(inputs)} images, {time.time() - t0:.0f} s")


# ---------------------------------------------------------------- USE

def use_outputs(adapter, texts: List[str], ops, batch: int, progress: Progress, what: str) -> torch.Tensor:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.empty(len(texts), 512)
    t0 = time.time()
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        out[idx] = adapter.run([texts[i] for i in idx], ops)
        done = min(len(order), s + batch)
        el = time.time() - t0
        progress(f"{what}: {done}/{len(texts)} texts, {el:.0f} s, ETA {el / done * (len(texts) - done):.0f} s")
    return out


def use_measures(a: torch.Tensor, b: torch.Tensor, fa: Optional[torch.Tensor], fb: Optional[torch.Tensor]) -> Dict[str, np.ndarray]:
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    sim = a @ b.T
    arg = sim.argmax(1)
    n = a.shape[0]
    rec = (arg == torch.arange(n)).double().numpy()
    if fa is None:
        return {"recall": rec, "cos": np.ones(n), "agree": np.ones(n)}
    cos = 0.5 * ((a * fa).sum(1) + (b * fb).sum(1))
    farg = (fa @ fb.T).argmax(1)
    return {"recall": rec, "cos": cos.double().numpy(), "agree": (arg == farg).double().numpy()}


# ---------------------------------------------------------------- bootstrap

def bootstrap(per: Dict[str, np.ndarray], fl: Dict[str, np.ndarray], B: int = 1000, seed: int = 0) -> Dict[str, list]:
    """95% percentile intervals over samples (resampled with replacement, the same resamples for
    every configuration and float: paired). Ratios (agreement per frame, KL per frame) are
    sum/sum within each resample."""
    n = len(next(iter(per.values())))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(B, n))
    out = {}

    def ci(vals):
        return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]

    if "frames" in per:
        fr = per["frames"]
        out["agree"] = [float(per["agree"].sum() / fr.sum())] + ci(per["agree"][idx].sum(1) / fr[idx].sum(1))
        out["kl"] = [float(per["kl"].sum() / fr.sum())] + ci(per["kl"][idx].sum(1) / fr[idx].sum(1))
        keys = ("exact", "cer")
    else:
        for k in ("agree", "cos"):
            out[k] = [float(per[k].mean())] + ci(per[k][idx].mean(1))
        keys = ("recall",)
    for k in keys:
        out[k] = [float(per[k].mean())] + ci(per[k][idx].mean(1))
        d = per[k] - fl[k]
        out[k + "_diff"] = [float(d.mean())] + ci(d[idx].mean(1))
    return out
