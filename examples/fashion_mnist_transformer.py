#!/usr/bin/env python3
"""A small Transformer (torch.nn) on Fashion-MNIST, converted to gqalut's integer operations.

1. trains the float model (patch embedding, pre-norm encoder blocks with nn.LayerNorm,
   attention through nn.Softmax, MLP with nn.GELU) for a few epochs;
2. gqalut.torch.convert() replaces GELU, Softmax and LayerNorm with the integer table
   datapaths (bit-exact with the library) and prints what it replaced;
3. fine-tunes the converted model a few steps (straight-through gradients, learnable
   power-of-two input scales);
and prints the test accuracy after each stage, and that of the float model trained the same
extra steps (so the fine-tune's gain can be told from more training).

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
Usage: PYTHONPATH=build/python /usr/bin/python3 examples/fashion_mnist_transformer.py [--quick]
"""
import argparse
import copy
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import gqalut.torch as gt

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split, limit, data_dir):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))[:limit]
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))[:limit]
    x = (torch.tensor(x, dtype=torch.float32) / 255.0 - 0.2860) / 0.3530
    return x, torch.tensor(y, dtype=torch.long)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = self.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads))
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """7x7 patches (16 tokens), a class token, `depth` encoder blocks."""

    def __init__(self, dim=64, depth=2, heads=4, hidden=128, classes=10):
        super().__init__()
        self.embed = nn.Linear(49, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, img):
        b = img.shape[0]
        patches = img.reshape(b, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(b, 16, 49)
        x = torch.cat([self.cls.expand(b, -1, -1), self.embed(patches)], dim=1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def accuracy(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(model, x, y, steps, lr, batch, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return loss.item()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a reduced run (the test's): fewer images and steps")
    ap.add_argument("--train", type=int, default=20000, help="training images")
    ap.add_argument("--test", type=int, default=5000, help="test images")
    ap.add_argument("--steps", type=int, default=1500, help="float training steps")
    ap.add_argument("--finetune", type=int, default=100, help="fine-tune steps after conversion")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=DATA)
    a = ap.parse_args(argv)
    if a.quick:
        a.train, a.test, a.steps, a.finetune = 4000, 1000, 300, 20
    torch.manual_seed(a.seed)
    t0 = time.time()
    xtr, ytr = load("train", a.train, a.data)
    xte, yte = load("test", a.test, a.data)
    model = Transformer()
    train(model, xtr, ytr, a.steps, 2e-3, 64, a.seed)
    fp32 = accuracy(model, xte, yte)
    print(f"float model: {a.steps} steps on {a.train} images, test accuracy {fp32:.4f} ({len(xte)} images)")

    # The same extra training in float, to tell the fine-tune's gain from more training.
    float_more = copy.deepcopy(model)
    train(float_more, xtr, ytr, a.finetune, 2e-4, 64, a.seed + 1)
    fp32_more = accuracy(float_more, xte, yte)

    report = gt.convert(model)
    print("converted:", ", ".join(f"{r.name}: {r.old} -> {r.new}" for r in report))
    converted = accuracy(model, xte, yte)
    print(f"after conversion (integer GELU, softmax, LayerNorm): test accuracy {converted:.4f}")

    train(model, xtr, ytr, a.finetune, 2e-4, 64, a.seed + 1)
    tuned = accuracy(model, xte, yte)
    scales = sorted({m.n for m in model.modules() if isinstance(m, gt.TableActivation)})
    print(f"after {a.finetune} fine-tune steps: test accuracy {tuned:.4f} (GELU input scales 2^-n, n in {scales}); "
          f"the float model after the same {a.finetune} steps: {fp32_more:.4f}")
    print(f"wall time {time.time() - t0:.1f} s")
    return {"float": fp32, "converted": converted, "finetuned": tuned, "float_more": fp32_more,
            "replaced": len(report.integer)}


if __name__ == "__main__":
    main()
    sys.exit(0)
