"""The aerial grow detector's network and how it is trained: a small U-Net over 2.4 m cells.

A grow is a pattern across tens of metres (rows of plants on cleared soil, netting, paths, a fence
line), which hand-made context features described poorly (pixel F1 0.44 by parcel); a small
convolutional network that learns the pattern from the labelled parcels does much better (0.66).
Input is the six half-cell channels of ``features.network_input`` (1.2 m); a 2 × 2 stride-2 stem
brings them to cells, three poolings reach 19 m blocks, and the decoder comes back to one logit per
cell; a cell's answer depends on the 43 cells (103 m) around it. It is slim where it is costly: one
conv at full cell resolution, and a decoder that adds the coarser level to the skip instead of
concatenating: 1.8× faster than the first U-Net, and with twice the steps in half its training
time, F1 within 0.01 of it (0.645 vs 0.648); the Dice term then added 0.013.
About 150,000 weights: one fit (4,000 steps, cross-entropy plus soft Dice) takes about four minutes
on two CPU cores, and the network ships as ONNX (``model.py`` runs it with
onnxruntime, so detection never needs PyTorch).

PyTorch is needed only here, for ``shekteu field train``: install the CPU build
(``pip install torch==2.13.0`` on this project's machines; elsewhere from PyTorch's CPU index).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError

WIDTHS = (16, 32, 48, 64)
LEVELS = len(WIDTHS) - 1  # poolings: window sides must be multiples of UNIT_CELLS cells
UNIT_CELLS = 2**LEVELS
# How far a cell's answer reaches: the 3×3 convs (one at 1 cell, two each at 2, 4 and 8 cells, one per
# decoder level at 4, 2, 1) give 36 cells and the poolings up to 7 more: 43, as measured by the gradient
# of one output cell. The halo is that, rounded up to a whole pooling unit (tests: windows give the same grid).
HALO_CELLS = 48
CROP_CELLS = 48
TRAIN = {"iterations": 4000, "batch": 12, "max_lr": 3e-3, "weight_decay": 1e-4, "pos_weight": 3.0,
         "positive_crops": 0.5, "brightness": 0.15, "dice": 1.0, "seed": 7, "negative_weight": 0.5}  # fmt: skip


def torch_module():
    try:
        import torch
    except ImportError:
        raise FieldError(
            "training the field model needs PyTorch (CPU build): pip install torch==2.13.0 onnx onnxscript"
        ) from None
    return torch


def build(channels: int = 6, widths: tuple[int, ...] = WIDTHS, stem: int = 2) -> Any:
    """A fresh network (a ``torch.nn.Module``): input [n, channels, stem·H, stem·W] (half-cells by
    default; ``stem`` 4 takes 0.6 m pixels), output [n, 1, H, W] logits per cell, H and W multiples
    of ``2**LEVELS``."""
    torch = torch_module()
    nn = torch.nn

    def conv(a: int, b: int, size: int = 3, stride: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(a, b, size, stride=stride, padding=size // 2 if stride == 1 else 0, bias=False),
            nn.BatchNorm2d(b),
            nn.ReLU(inplace=True),
        )

    class HempNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = widths
            # A 4 × 4 stride-4 convolution trains six times slower in PyTorch than the same weights
            # as pixels folded into channels and a 1 × 1 convolution.
            self.stem = conv(channels, w[0], 2, 2) if stem == 2 else nn.Sequential(
                nn.PixelUnshuffle(stem), conv(channels * stem * stem, w[0], 1))  # fmt: skip
            # One conv at full cell resolution, two at each coarser level: full-resolution layers cost
            # the most, and a second one there did not pay for itself.
            self.down = nn.ModuleList(
                [
                    nn.Sequential(conv(a, b), *([conv(b, b)] if i else []))
                    for i, (a, b) in enumerate(zip((w[0], *w[:-1]), w, strict=True))
                ]
            )
            # Decoder: the coarser level is narrowed by a 1×1 conv before upsampling and added to the
            # skip (not concatenated), so the 3×3 conv at each finer level stays as narrow as its level.
            self.lateral = nn.ModuleList([conv(w[i + 1], w[i], 1) for i in range(len(w) - 1)])
            self.up = nn.ModuleList([conv(w[i], w[i]) for i in range(len(w) - 1)])
            self.head = nn.Conv2d(w[0], 1, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x: Any) -> Any:
            skips = []
            x = self.stem(x)
            for i, block in enumerate(self.down):
                if i:
                    x = self.pool(x)
                x = block(x)
                skips.append(x)
            for i in reversed(range(len(self.up))):
                x = nn.functional.interpolate(self.lateral[i](x), scale_factor=2.0, mode="nearest")
                x = self.up[i](x + skips[i])
            return self.head(x)

    return HempNet()


def _crops(
    sample: list[dict[str, np.ndarray]], rng: np.random.Generator, batch: int, share: float, bright: float
):
    """A batch of CROP_CELLS-square crops (half of them centred on a grow), randomly rotated,
    flipped and brightened: inputs [b, channels, s·c, s·c] (``s`` input values per cell side: 2 for
    half-cells), targets and weights [b, 1, c, c]."""
    c = CROP_CELLS
    xs, ys, ws = [], [], []
    for _ in range(batch):
        p = sample[rng.integers(len(sample))]
        rows, cols = p["target"].shape
        s = p["x"].shape[-1] // cols
        if rng.random() < share and len(p["positives"]):
            r, q = p["positives"][rng.integers(len(p["positives"]))]
            r = int(np.clip(r - c // 2, 0, rows - c))
            q = int(np.clip(q - c // 2, 0, cols - c))
        else:
            r, q = int(rng.integers(rows - c + 1)), int(rng.integers(cols - c + 1))
        x = p["x"][:, s * r : s * (r + c), s * q : s * (q + c)].copy()
        x[:4] *= np.float32(rng.uniform(1 - bright, 1 + bright))
        y, w = p["target"][r : r + c, q : q + c], p["weight"][r : r + c, q : q + c]
        turns, flip = int(rng.integers(4)), bool(rng.integers(2))
        x, y, w = (np.rot90(a, turns, axes=(-2, -1)) for a in (x, y, w))
        if flip:
            x, y, w = (a[..., ::-1] for a in (x, y, w))
        xs.append(x)
        ys.append(y)
        ws.append(w)
    return (np.ascontiguousarray(np.stack(xs)), np.ascontiguousarray(np.stack(ys)[:, None]),
            np.ascontiguousarray(np.stack(ws)[:, None]))  # fmt: skip


def fit(
    sample: list[dict[str, np.ndarray]],
    settings: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Any:
    """Train a network on parcels given as dicts of ``x`` (network input), ``target`` and ``weight``
    per cell (both padded to at least CROP_CELLS); the trained module, in eval mode."""
    torch = torch_module()
    s = {**TRAIN, **(settings or {})}
    torch.manual_seed(s["seed"])
    torch.set_num_threads(2)
    rng = np.random.default_rng(s["seed"])
    for p in sample:
        p["positives"] = np.argwhere(p["target"] > 0)
    net = build(channels=sample[0]["x"].shape[0], widths=tuple(s.get("widths", WIDTHS)), stem=int(s.get("stem", 2)))
    opt = torch.optim.AdamW(net.parameters(), lr=s["max_lr"], weight_decay=s["weight_decay"])
    steps = int(s["iterations"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["max_lr"], total_steps=steps)
    pos_weight = torch.tensor(s["pos_weight"])
    net.train()
    for step in range(steps):
        x, y, w = (
            torch.from_numpy(a) for a in _crops(sample, rng, s["batch"], s["positive_crops"], s["brightness"])
        )
        logit = net(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logit, y, reduction="none", pos_weight=pos_weight
        )
        loss = (loss * w).sum() / w.sum().clamp(min=1)
        if s["dice"]:  # soft Dice over the batch: pixel F1, what the map is judged by
            p = torch.sigmoid(logit) * w
            loss = loss + s["dice"] * (1 - (2 * (p * y).sum() + 1) / (p.sum() + (y * w).sum() + 1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if on_step:
            on_step(step + 1, steps)
    return net.eval()


def predict(net: Any, x: np.ndarray, flips: bool = False) -> np.ndarray:
    """Probabilities per cell for one input [6, 2H, 2W] (H, W multiples of 2**LEVELS); with ``flips``
    the mean over the input as it is and mirrored left-right, top-bottom and both (test-time
    augmentation)."""
    torch = torch_module()
    views = [(), (-1,), (-2,), (-2, -1)] if flips else [()]
    total = None
    with torch.no_grad():
        for axes in views:
            view = np.ascontiguousarray(np.flip(x, axes) if axes else x)
            p = torch.sigmoid(net(torch.from_numpy(view[None]))).numpy()[0, 0]
            p = np.flip(p, axes) if axes else p
            total = p if total is None else total + p
    return np.ascontiguousarray(total / len(views))


def export(net: Any, path: Path) -> None:
    """Write the network as ONNX with free height and width (batch of one)."""
    torch = torch_module()
    first = net.stem[0]  # its input channels and stride give the input's shape
    if isinstance(first, torch.nn.PixelUnshuffle):
        side = first.downscale_factor
        channels = net.stem[1][0].in_channels // (side * side)
    else:
        side, channels = first.stride[0], first.in_channels
    example = torch.zeros(1, channels, 32 * side, 32 * side)
    try:
        torch.onnx.export(net, (example,), str(path), input_names=["x"], output_names=["logit"],
                          dynamic_axes={"x": {2: "h2", 3: "w2"}, "logit": {2: "h", 3: "w"}}, dynamo=False,
                          opset_version=17)  # fmt: skip
    except ImportError as exc:
        raise FieldError(f"exporting the field model needs onnx: pip install onnx ({exc})") from None
