"""The shipped aerial classifier: a LightGBM model over cell features, plus how to turn its
probabilities into a mask (smoothing, threshold, clean-up) — both chosen by cross-validation by parcel.

The artifact is ``data/hemp_cells.txt.gz`` (LightGBM's text format, no pickle) and
``data/hemp_cells.json`` (feature names, cell size, threshold, and the validation figures it was
trained with). ``shekteu field train DIR`` rebuilds both from LabelMe-annotated parcels.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError
from shekteu.field.features import NAMES

MODEL_FILE = "hemp_cells.txt.gz"
META_FILE = "hemp_cells.json"


@dataclass(frozen=True)
class Model:
    booster: Any
    meta: dict[str, Any]
    text: str = ""  # the model in LightGBM's text format, to give each thread its own Booster
    local: threading.local = field(default_factory=threading.local, compare=False, repr=False)

    def _thread_booster(self) -> Any:
        """This thread's Booster: LightGBM's predictor is not safe to share between threads that ask
        for different tree ranges (the screen's first trees, then the rest) — wrong scores, no error."""
        if not self.text:
            return self.booster
        booster = getattr(self.local, "booster", None)
        if booster is None:
            import lightgbm

            booster = self.local.booster = lightgbm.Booster(model_str=self.text)
        return booster

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def smooth(self) -> int:
        return int(self.meta["smooth"])

    def probability(self, features: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
        """P(grow) per cell for features shaped [n_features, rows, cols]; cells not ``usable`` (no
        data) get 0. With a screen in the meta, the first trees score every cell and only cells they
        do not rule out get the rest (the rest of the trees cost most; most land is ruled out); a
        ruled-out cell keeps the first trees' estimate."""
        _, rows, cols = features.shape
        out = np.zeros((rows, cols), np.float32)
        where = np.ones((rows, cols), bool) if usable is None else usable
        if not where.any():
            return out
        x = features[:, where].T
        booster = self._thread_booster()
        screen = self.meta.get("screen")
        if not screen:
            out[where] = booster.predict(x, num_threads=1)
            return out
        trees = int(screen["trees"])
        raw = booster.predict(x, num_iteration=trees, raw_score=True, num_threads=1)
        keep = _sigmoid(raw) >= float(screen["min_probability"])
        if keep.any():
            raw[keep] += booster.predict(x[keep], start_iteration=trees, raw_score=True, num_threads=1)
        out[where] = _sigmoid(raw)
        return out

    def mask(self, probability: np.ndarray, usable: np.ndarray) -> np.ndarray:
        return grow_mask(probability, usable, self.threshold, self.smooth)


def _sigmoid(raw: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-raw))


def calibrate_screen(booster, x: np.ndarray, trees: int = 24, keep: float = 0.998) -> dict[str, float]:
    """The screen: the first ``trees`` trees' probability below which only 1 − ``keep`` of the cells
    the full model gives ≥ 0.05 fall (measured on the training cells ``x``)."""
    full = booster.predict(x)
    first = _sigmoid(booster.predict(x, num_iteration=trees, raw_score=True))
    floor = float(np.quantile(first[full >= 0.05], 1 - keep)) if (full >= 0.05).any() else 0.0
    return {
        "trees": trees,
        "min_probability": round(floor, 5),
        "kept": keep,
        "passed": round(float((first >= floor).mean()), 3),
    }


def grow_mask(probability: np.ndarray, usable: np.ndarray, threshold: float, smooth: int) -> np.ndarray:
    """Cells called grow: probability averaged over ``smooth`` cells, thresholded, small gaps closed
    and holes filled (a grow's paths and single dark plants are part of it)."""
    from scipy import ndimage

    p = ndimage.uniform_filter(probability, smooth, mode="nearest") if smooth > 1 else probability
    m = (p >= threshold) & usable
    m = ndimage.binary_closing(m, iterations=1) & usable
    return ndimage.binary_fill_holes(m)


def save(booster: Any, meta: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = booster.model_to_string()
    (folder / MODEL_FILE).write_bytes(gzip.compress(text.encode(), mtime=0))
    (folder / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


@lru_cache(maxsize=2)
def load(folder: str | None = None) -> Model:
    """The shipped model, or one saved by ``shekteu field train`` into ``folder``."""
    import lightgbm

    try:
        if folder is None:
            base = resources.files("shekteu.field").joinpath("data")
            raw, meta_text = base.joinpath(MODEL_FILE).read_bytes(), base.joinpath(META_FILE).read_text()
        else:
            raw, meta_text = (Path(folder) / MODEL_FILE).read_bytes(), (Path(folder) / META_FILE).read_text()
        meta = json.loads(meta_text)
        text = gzip.decompress(raw).decode()
        booster = lightgbm.Booster(model_str=text)
    except (OSError, ValueError, lightgbm.basic.LightGBMError) as exc:
        raise FieldError(f"cannot load the field model from {folder or 'the package'}: {exc}") from None
    if meta.get("features") != NAMES:
        raise FieldError(
            "the field model was trained on other features than this version computes; retrain it"
        )
    return Model(booster, meta, text)
