"""The shipped aerial grow detector: a small convolutional network run with onnxruntime, plus how
its probabilities become a mask (smoothing, threshold, clean-up) — both chosen by cross-validation
by parcel.

The artifact is ``data/hemp_net.onnx`` (the network, see ``network.py``; about 1 MB, no pickle) and
``data/hemp_net.json`` (input channels, cell size, threshold, and the validation figures it was
trained with). ``shekteu field train DIR`` rebuilds both from LabelMe-annotated parcels. Detection
needs only onnxruntime (a small CPU package), never PyTorch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError
from shekteu.field.features import CHANNELS

MODEL_FILE = "hemp_net.onnx"
META_FILE = "hemp_net.json"


@dataclass(frozen=True)
class Model:
    session: Any  # onnxruntime.InferenceSession: safe to run from several threads at once
    meta: dict[str, Any]

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def smooth(self) -> int:
        return int(self.meta["smooth"])

    def probability(self, x: np.ndarray, usable: np.ndarray) -> np.ndarray:
        """P(grow) per cell for a network input [6, 2·rows, 2·cols] (rows and cols multiples of the
        network's pooling, see ``network.LEVELS``); cells not ``usable`` (no data) get 0."""
        (logit,) = self.session.run(None, {"x": np.ascontiguousarray(x[None], dtype=np.float32)})
        p = 1 / (1 + np.exp(-logit[0, 0]))
        return np.where(usable, p, np.float32(0)).astype(np.float32)

    def mask(self, probability: np.ndarray, usable: np.ndarray) -> np.ndarray:
        return grow_mask(probability, usable, self.threshold, self.smooth)


def grow_mask(
    probability: np.ndarray, usable: np.ndarray, threshold: float, smooth: int, min_cells: int = 0
) -> np.ndarray:
    """Cells called grow: probability averaged over ``smooth`` cells, thresholded, small gaps closed
    and holes filled (a grow's paths and single dark plants are part of it); with ``min_cells``,
    components smaller than that are dropped (detection drops small sites by their hectares when it
    traces them; validation uses this to score what detection outputs)."""
    from scipy import ndimage

    p = ndimage.uniform_filter(probability, smooth, mode="nearest") if smooth > 1 else probability
    m = (p >= threshold) & usable
    m = close_gaps(m) & usable
    m = fill_holes(m)
    if min_cells > 1:
        labels, _ = ndimage.label(m, np.ones((3, 3)))  # 8-connected, as sites are traced
        m &= (np.bincount(labels.ravel()) >= min_cells)[labels]
    return m


def close_gaps(mask: np.ndarray) -> np.ndarray:
    """``ndimage.binary_closing(mask)`` (3 × 3 cross, outside counted as empty, so the outermost
    cells open) by shifted ORs and ANDs: the same answer 20 times faster."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    out = grown.copy()
    out[1:] &= grown[:-1]
    out[:-1] &= grown[1:]
    out[:, 1:] &= grown[:, :-1]
    out[:, :-1] &= grown[:, 1:]
    out[0] = out[-1] = False
    out[:, 0] = out[:, -1] = False
    return out


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``ndimage.binary_fill_holes`` (background not 4-connected to the border is filled) by labelling
    the background once: the same answer, without its dilation repeated until nothing changes (seconds
    on a large grid)."""
    from scipy import ndimage

    background, n = ndimage.label(~mask)
    outside = np.zeros(n + 1, bool)  # background labels that reach the border
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        outside[edge] = True
    return mask | ~outside[background]


def save(write_network: Callable[[Path], None], meta: dict[str, Any], folder: Path) -> None:
    """Write the network (by ``write_network(path)``) and its meta, each replacing the old file only
    once complete."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{MODEL_FILE}.tmp"
    write_network(tmp)
    os.replace(tmp, folder / MODEL_FILE)
    tmp = folder / f".{META_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, folder / META_FILE)


@lru_cache(maxsize=2)
def load(folder: str | None = None) -> Model:
    """The shipped model, or one saved by ``shekteu field train`` into ``folder``."""
    try:
        import onnxruntime
    except ImportError:
        raise FieldError("field detection needs onnxruntime: pip install 'shekteu[field]'") from None
    try:
        if folder is None:
            base = resources.files("shekteu.field").joinpath("data")
            raw, meta_text = base.joinpath(MODEL_FILE).read_bytes(), base.joinpath(META_FILE).read_text()
        else:
            raw, meta_text = (Path(folder) / MODEL_FILE).read_bytes(), (Path(folder) / META_FILE).read_text()
        meta = json.loads(meta_text)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # windows run in parallel threads, one core each
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # the arena keeps its largest window for good: memory
        session = onnxruntime.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
        inputs = [(i.name, i.shape[1]) for i in session.get_inputs()]
        if inputs != [("x", len(CHANNELS))]:
            raise ValueError(f"the network takes {inputs}, not one input 'x' of {len(CHANNELS)} channels")
    except (OSError, ValueError, *_onnxruntime_errors(onnxruntime)) as exc:
        raise FieldError(f"cannot load the field model from {folder or 'the package'}: {exc}") from None
    if meta.get("inputs") != list(CHANNELS):
        raise FieldError("the field model was trained on other inputs than this version computes; retrain it")
    return Model(session, meta)


def _onnxruntime_errors(onnxruntime: Any) -> tuple[type[Exception], ...]:
    """onnxruntime's own exceptions (InvalidProtobuf, Fail, …: none derives from a builtin error)."""
    state = vars(onnxruntime.capi.onnxruntime_pybind11_state).values()
    return tuple(v for v in state if isinstance(v, type) and issubclass(v, Exception))
