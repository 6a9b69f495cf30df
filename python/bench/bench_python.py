#!/usr/bin/env python3
"""Speed of the Python layer against what it wraps, side by side in one run (medians):

1. TableSet.apply(q, n, out=out) on 64 Mi int8 codes vs the C++ kernel on the same arrays
   (gqalut._core.time_kernel: apply(plan, q, out) timed inside C++); also apply() allocating
   its output (a new 256 MiB array per call: its pages are first touched by the kernel).
2. gqalut.torch.GELU forward (the integer datapath with the STE) vs torch.nn.functional.gelu
   on a 4096 x 3072 float32 tensor.

Usage: PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_python.py [--repeats 9] [--json FILE]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

import gqalut
import gqalut.torch as gt


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--codes", type=int, default=64 << 20, help="int8 codes for apply (default 64 Mi)")
    ap.add_argument("--rows", type=int, default=4096, help="rows of the GELU tensor")
    ap.add_argument("--cols", type=int, default=3072, help="columns of the GELU tensor")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

    table = gqalut.fit("gelu", entries=8, method="optimal")
    n = 5
    q = np.random.default_rng(1).integers(-128, 128, size=a.codes, dtype=np.int8)
    out = np.empty(q.shape, dtype=np.int32)
    table.apply(q, n, out=out)  # warm: pages of out touched
    # Interleaved: C++ kernel, Python apply(out=), Python apply() allocating.
    cpp, py_out, py_alloc = [], [], []
    for _ in range(a.repeats):
        cpp.append(gqalut._core.time_kernel(table[n]._t, q, out, 1))
        py_out.append(median_time(lambda: table.apply(q, n, out=out), 1))
        py_alloc.append(median_time(lambda: table.apply(q, n), 1))
    cpp_s, out_s, alloc_s = map(statistics.median, (cpp, py_out, py_alloc))

    torch.manual_seed(0)
    x = torch.randn(a.rows, a.cols)
    act = gt.GELU()
    act(x)
    torch.nn.functional.gelu(x)
    ste, ref = [], []
    for _ in range(a.repeats):
        ste.append(median_time(lambda: act(x), 1))
        ref.append(median_time(lambda: torch.nn.functional.gelu(x), 1))
    ste_s, ref_s = statistics.median(ste), statistics.median(ref)

    res = {
        "isa": gqalut.isa(), "torch_threads": torch.get_num_threads(), "repeats": a.repeats,
        "apply_codes": a.codes, "cpp_kernel_s": cpp_s, "apply_out_s": out_s, 
        "apply_alloc_s": alloc_s, "apply_out_ratio": out_s / cpp_s, "apply_alloc_ratio": alloc_s / cpp_s,
        "ste_forward_s": ste_s, "torch_gelu_s": ref_s, "ste_ratio": ste_s / ref_s,
    }
    print(f"kernels: {res['isa']}, torch threads: {res['torch_threads']}, medians of {a.repeats}")
    print(f"apply, {a.codes / 2**20:.0f} Mi int8 codes -> int32 acc:")
    print(f"  C++ kernel apply(plan, q, out)       {cpp_s * 1e3:8.2f} ms")
    print(f"  TableSet.apply(q, n, out=out)        {out_s * 1e3:8.2f} ms  ({res['apply_out_ratio']:.2f}x)")
    print(f"  TableSet.apply(q, n)  (allocating)   {alloc_s * 1e3:8.2f} ms  ({res['apply_alloc_ratio']:.2f}x)")
    print(f"{a.rows} x {a.cols} float32:")
    print(f"  torch.nn.functional.gelu             {ref_s * 1e3:8.2f} ms")
    print(f"  gqalut.torch.GELU forward (STE)      {ste_s * 1e3:8.2f} ms  ({res['ste_ratio']:.2f}x)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
