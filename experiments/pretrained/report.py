"""`run.py report`: markdown tables, a CSV and a gnuplot figure from an output folder.

Every interval is a 95% percentile bootstrap over the evaluation samples (images or verse pairs),
the same resamples for a configuration and for float (paired); differences are configuration
minus float."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from typing import Dict, List

import numpy as np

import study

METHOD_ORDER = ["float", "optimal", "ga-improved", "ga-faithful", "nnlut", "uniform", "official", "ibert", "quant-only"]
METHOD_NAME = {"optimal": "optimum", "ga-improved": "GA improved", "ga-faithful": "paper's GA (faithful)",
               "nnlut": "NN-LUT", "uniform": "uniform", "official": "official tables", "ibert": "I-BERT",
               "quant-only": "quantize-only control", "float": "float"}


def _f(v, digits=4):
    return f"{v:.{digits}f}"


def _ci(v, digits=4, sci=False):
    if sci:
        return f"{v[0]:.2e} [{v[1]:.2e}, {v[2]:.2e}]"
    return f"{v[0]:.{digits}f} [{v[1]:.{digits}f}, {v[2]:.{digits}f}]"


def _sort_key(r):
    return (r.get("study", "main"), r["ops"] != "all", r["ops"], r["entries"] if r["method"] != "quant-only" else 99,
            METHOD_ORDER.index(r["method"]) if r["method"] in METHOD_ORDER else 99)


def load(out: str):
    with open(os.path.join(out, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    recs = list(study.load_done(os.path.join(out, "results.jsonl")).values())
    return meta, recs


def main(args) -> None:
    meta, recs = load(args.out)
    md = args.md or os.path.join(args.out, "tables.md")
    plot = args.plot or os.path.join(args.out, "plot.png")
    kind = meta.get("kind")
    samples = os.path.join(args.out, "samples")
    fl = dict(np.load(os.path.join(samples, "float.npz")))
    rows: List[Dict] = []
    for r in sorted(recs, key=_sort_key):
        if r["method"] == "float":
            continue
        row = dict(r)
        if "refused" not in r and os.path.isfile(os.path.join(samples, r.get("file", "-"))):
            per = dict(np.load(os.path.join(samples, r["file"])))
            n = len(next(iter(per.values())))
            if kind == "use" and n < len(fl["recall"]):
                base = dict(np.load(os.path.join(samples, f"float_{n}.npz")))
            else:
                base = {k: v[:n] for k, v in fl.items()}
            row["ci"] = study.bootstrap(per, base, B=args.bootstrap)
            row["float_ci"] = study.bootstrap(base, base, B=args.bootstrap)
            if kind == "ocr":
                st = np.array(meta["styles"][:n])
                for s in ("clean", "hard"):
                    m = st == s
                    if m.any():
                        row[f"exact_{s}"] = float(per["exact"][m].mean())
                        row[f"float_exact_{s}"] = float(base["exact"][m].mean())
        rows.append(row)
    lines = [f"<!-- written by experiments/pretrained/run.py report --out {args.out} -->", ""]
    csv_rows = []
    if kind == "ocr":
        lines += _ocr_tables(meta, rows, fl, args)
    else:
        lines += _use_tables(meta, rows, fl, args)
    for r in rows:
        c = {k: r.get(k) for k in ("method", "entries", "ops", "study", "ln_mode", "act_mode", "n", "refused")}
        for k, v in r.get("ci", {}).items():
            c[k], c[k + "_lo"], c[k + "_hi"] = v
        csv_rows.append(c)
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    keys = sorted({k for c in csv_rows for k in c}, key=lambda k: (k not in ("method", "entries", "ops", "study"), k))
    with open(os.path.splitext(md)[0] + ".csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for c in csv_rows:
            w.writerow(c)
    _plot(rows, kind, plot)
    print(f"wrote {md}, {os.path.splitext(md)[0] + '.csv'}" + (f", {plot}" if os.path.isfile(plot) else ""))


def _label(r):
    e = f" {r['entries']}" if r["method"] not in ("quant-only", "ibert") else ""
    ln = f", {r['ln_bits']}-bit LayerNorm" if r.get("ln_bits", 8) != 8 else ""
    return METHOD_NAME.get(r["method"], r["method"]) + e + ln


ACT_RECIPE = {
    "tensor": "activations: int8 codes, one scale per site, one table per function",
    "channel": "activations: int8 codes, one scale per channel, one table per function",
    "int16": "activations: int16 codes, one scale per site, one table per function (the paper's recipe: "
             "hard-swish and SiLU have their own tables)",
    "product": "activations: int16 codes; hard-swish = x . hsigmoid(x) and SiLU = x . sigmoid(x), the gate's "
               "table (16-bit coefficient codes, q1.14) times x's code (`--act-mode product`)",
}


def _recipe_lines(main) -> List[str]:
    modes = sorted({(r.get("act_mode"), r.get("ln_mode"), r.get("ln_bits", 8)) for r in main})
    return [f"Main tables: {ACT_RECIPE.get(a, a)}; LayerNorm inputs `--ln-mode {l}`, "
            f"{b}-bit LayerNorm codes (`--ln-bits {b}`)." for a, l, b in modes]


def _ocr_tables(meta, rows, fl, args) -> List[str]:
    n = len(fl["exact"])
    st = np.array(meta["styles"])
    L = [f"Evaluation: {n} rendered snippets ({int((st == 'clean').sum())} clean, {int((st == 'hard').sum())} hard); "
         f"calibration: {meta['calibration']} other images ({meta['calibration_note']}). "
         f"Float: exact match {fl['exact'].mean():.4f} (clean {fl['exact'][st == 'clean'].mean():.4f}, hard "
         f"{fl['exact'][st == 'hard'].mean():.4f}), CER {fl['cer'].mean():.4f}.", ""]
    main = [r for r in rows if r.get("study", "main") == "main" and r["ops"] == "all"]
    L[-1:-1] = _recipe_lines(main)
    if main:
        L += ["### Every non-linear operation integer", "",
              "| method | argmax agreement per frame | KL(float ‖ int) per frame | exact match | Δ exact vs float | CER | Δ CER vs float | exact clean / hard |",
              "|---|---|---|---|---|---|---|---|"]
        for r in main:
            L.append(_ocr_row(r))
        L.append("")
    modes = [r for r in rows if r["ops"] == "all" and r["method"] in ("optimal", "quant-only")
             and (r.get("study") == "modes" or r["entries"] in (0, 8))]
    if any(r.get("study") == "modes" for r in rows):
        L += ["### Input-scale policies (optimum 8 entries and the quantize-only control)", "",
              "| activation inputs | LayerNorm inputs | method | argmax agreement | KL per frame | exact | Δ exact |",
              "|---|---|---|---|---|---|---|"]
        for r in sorted((r for r in modes if "ci" in r), key=lambda r: (r["act_mode"], r["ln_mode"], r["method"])):
            L.append(_md_row(r, [r["act_mode"], r["ln_mode"], _label(r)], 7, lambda c: [
                _ci(c["agree"], 5), _ci(c["kl"], sci=True), _f(c["exact"][0]), _ci(c["exact_diff"])]))
        L.append("")
    abl = [r for r in rows if r.get("study") == "ablation"]
    if abl:
        L += [f"### Each operation alone integer (the others float; {abl[0]['n']} images)", "",
              "| operation | method | argmax agreement per frame | KL per frame | Δ exact vs float | Δ CER vs float |",
              "|---|---|---|---|---|---|"]
        for r in abl:
            L.append(_md_row(r, [r["ops"], _label(r)], 6, lambda c: [
                _ci(c["agree"], 5), _ci(c["kl"], sci=True), _ci(c["exact_diff"]), _ci(c["cer_diff"])]))
        L.append("")
    return L


def _md_row(r, lead: List[str], width: int, cells) -> str:
    """One markdown table row of `width` columns: the `lead` cells, then cells(r's intervals),
    or, for a configuration without intervals (refused or not run), why, and empty cells."""
    if "ci" not in r:
        why = f"refused: {r.get('refused', 'not run')}"
        return "| " + " | ".join(lead + [why]) + " |" + " |" * (width - len(lead) - 1)
    return "| " + " | ".join(lead + cells(r["ci"])) + " |"


def _ocr_row(r) -> str:
    return _md_row(r, [_label(r)], 8, lambda c: [
        _ci(c["agree"], 5), _ci(c["kl"], sci=True), _ci(c["exact"]), _ci(c["exact_diff"]), _ci(c["cer"]),
        _ci(c["cer_diff"]), f"{r.get('exact_clean', 0):.3f} / {r.get('exact_hard', 0):.3f}"])


def _use_tables(meta, rows, fl, args) -> List[str]:
    n = len(fl["recall"])
    L = [f"Evaluation: {n} KJV verses, each retrieving its World English Bible twin among the {n} WEB verses by "
         f"cosine; calibration: {meta['calibration']} other verse pairs ({meta['calibration_note']}). Float recall@1 "
         f"{fl['recall'].mean():.4f}.", ""]
    groups = [("### Every non-linear operation integer", lambda r: r.get("study", "main") == "main" and r["ops"] == "all"),
              ("### Input-scale policies", lambda r: r.get("study") == "modes"),
              ("### Each operation alone integer (the others float)", lambda r: r.get("study") == "ablation")]
    for title, pred in groups:
        sel = [r for r in rows if pred(r)]
        if not sel:
            continue
        L += [title + (f" ({sel[0]['n']} pairs)" if sel[0]["n"] != n else ""), "",
              "| operation | method | activation inputs | LayerNorm inputs | cosine to float | retrieval argmax = float's | recall@1 | Δ recall@1 vs float |",
              "|---|---|---|---|---|---|---|---|"]
        for r in sel:
            L.append(_md_row(r, [r["ops"], _label(r), r["act_mode"], r["ln_mode"]], 8, lambda c: [
                _ci(c["cos"], 5), _ci(c["agree"]), _ci(c["recall"]), _ci(c["recall_diff"])]))
        L.append("")
    return L


def _plot(rows, kind, path) -> None:
    """1 - argmax agreement (OCR) or 1 - cosine (USE) of the all-integer configurations, 8 and 16 entries."""
    if shutil.which("gnuplot") is None:
        return
    key = "agree" if kind == "ocr" else "cos"
    sel = [r for r in rows if r.get("study", "main") == "main" and r["ops"] == "all" and "ci" in r]
    methods = [m for m in METHOD_ORDER if any(r["method"] == m for r in sel)]
    if not methods:
        return
    dat = path + ".dat"
    with open(dat, "w") as f:
        for i, m in enumerate(methods):
            for j, e in enumerate((8, 16)):
                for r in sel:
                    if r["method"] == m and (r["entries"] == e or (m == "quant-only" and j == 0) or
                                             (m == "ibert" and j == 0)):
                        v = r["ci"][key]
                        f.write(f"{i + (j - 0.5) * 0.3:.2f} {1 - v[0]:.6g} {1 - v[2]:.6g} {1 - v[1]:.6g} {j}\n")
    ylab = "1 - argmax agreement per frame" if kind == "ocr" else "1 - cosine to the float embedding"
    title = "PP-OCRv4, every non-linear op integer" if kind == "ocr" else "USE-lite, every non-linear op integer"
    xt = ", ".join(f'"{METHOD_NAME[m]}" {i}' for i, m in enumerate(methods))
    script = f"""set terminal pngcairo size 900,480 noenhanced
set output '{path}'
set title '{title} (95% bootstrap intervals)'
set ylabel '{ylab}'
set logscale y
set xtics ({xt}) rotate by -25
set xrange [-0.7:{len(methods) - 0.3}]
set key top left
set grid ytics
plot '{dat}' using ($5==0?$1:1/0):2:3:4 with yerrorbars pt 7 lc rgb '#1f77b4' title '8 entries', \\
     '{dat}' using ($5==1?$1:1/0):2:3:4 with yerrorbars pt 5 lc rgb '#d62728' title '16 entries'
"""
    r = subprocess.run(["gnuplot"], input=script.encode(), capture_output=True)
    if r.returncode != 0:
        print("gnuplot failed: " + r.stderr.decode(errors="replace")[:300])
