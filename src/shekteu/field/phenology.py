"""Sentinel-2 hemp plantations by the shape of the season: a classifier over each pixel's NDVI curve.

Hemp, like every crop, has its own calendar — when it greens, how high it peaks, when it is cut — and
ten-metre pixels seen every five days show it. Each pixel's NDVI dates (SCL-masked) are cleaned of
one-date dips (residual haze and cloud shadow the SCL missed), interpolated onto a fixed day-of-year
grid (every 10 days, 5 April – 2 October) and described by the curve itself, its slopes, its peak and
peak day, its midsummer low and the autumn regrowth after it. A gradient-boosted tree ensemble over
those features (trained by ``phenology_training.py``; shipped as plain JSON, evaluated here in NumPy,
so detection needs no scikit-learn) gives P(hemp).

The shipped model learnt **cultivated** hemp among maize, alfalfa, mustard and cereals in Lower
Austria, 2018 (real declared fields; figures in ``data/phenology.json``). It knows a sown and
harvested crop's calendar at 48° N, not the wild stands of the Shu valley (self-sown, sparse, green
June–August and drying in autumn, never cut): for those ``seasonality.py``'s rule stays the default,
and this model is for plantations, or for retraining on local labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError

GRID_DOY = np.arange(95, 276, 10, dtype=np.float32)  # 5 April … 2 October
SUMMER = slice(8, 14)  # grid points 175…225: the midsummer low of a cut crop
MIN_DATES = 4  # clear dates a pixel needs before its curve means anything
DESPIKE = 0.05
MODEL_FILE = "phenology.json"
N_FEATURES = 2 * len(GRID_DOY) - 1 + 4  # see features()


def ndvi_series(layers: list[tuple[date | None, dict[str, np.ndarray]]]) -> tuple[np.ndarray, np.ndarray]:
    """(NDVI [dates, h, w] with NaN where not clear, day of year per date) from dated band sets,
    ordered by date; undated layers are left out (a curve needs its days)."""
    dated = sorted(((when, b) for when, b in layers if when is not None), key=lambda layer: layer[0])
    if not dated:
        raise FieldError("the phenology model needs dated Sentinel-2 layers (dates in the file names)")
    stack = []
    for _, b in dated:
        den = b["nir"] + b["red"]
        ndvi = (b["nir"] - b["red"]) / np.where(den > 0, den, np.inf)
        stack.append(np.where(b["valid"] & (den > 0), ndvi, np.nan).astype(np.float32))
    doy = np.array([when.timetuple().tm_yday for when, _ in dated], np.float32)
    return np.stack(stack), doy


def _fill(valid: np.ndarray, forward: bool) -> np.ndarray:
    """Per date and pixel, the index of the nearest valid date at or before it (``forward``) or at or
    after it; -1 / len where there is none."""
    t = valid.shape[0]
    idx = np.arange(t)[:, None]
    if forward:
        return np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    return np.minimum.accumulate(np.where(valid, idx, t)[::-1], axis=0)[::-1]


def despike(series: np.ndarray, drop: float = DESPIKE) -> np.ndarray:
    """The series [dates, n] without dates that dip more than ``drop`` below both clear neighbours."""
    valid = np.isfinite(series)
    t, n = series.shape
    cols = np.arange(n)
    before = np.vstack([np.full((1, n), -1), _fill(valid, True)[:-1]])
    after = np.vstack([_fill(valid, False)[1:], np.full((1, n), t)])
    has = (before >= 0) & (after < t)
    prev = series[np.clip(before, 0, t - 1), cols]
    nxt = series[np.clip(after, 0, t - 1), cols]
    spike = valid & has & (series < prev - drop) & (series < nxt - drop)
    return np.where(spike, np.nan, series)


def interpolate(series: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """NDVI on ``GRID_DOY`` [grid, n], linear between the clear dates either side, held flat before
    the first and after the last (as ``np.interp``); NaN for a pixel with no clear date."""
    valid = np.isfinite(series)
    t, n = series.shape
    cols = np.arange(n)
    forward, backward = _fill(valid, True), _fill(valid, False)
    out = np.empty((len(GRID_DOY), n), np.float32)
    for g, day in enumerate(GRID_DOY):
        i = int(np.searchsorted(doy, day, "right")) - 1  # last date on or before the grid day
        j = int(np.searchsorted(doy, day, "left"))  # first date on or after it
        lo = forward[i] if i >= 0 else np.full(n, -1)
        hi = backward[j] if j < t else np.full(n, t)
        a, b = series[np.clip(lo, 0, t - 1), cols], series[np.clip(hi, 0, t - 1), cols]
        da, db = doy[np.clip(lo, 0, t - 1)], doy[np.clip(hi, 0, t - 1)]
        w = np.where(db > da, (day - da) / np.where(db > da, db - da, 1), 0)
        both = a + w * (b - a)
        out[g] = np.where(lo >= 0, np.where(hi < t, both, a), np.where(hi < t, b, np.nan))
    return out


def features(curve: np.ndarray) -> np.ndarray:
    """Per pixel [n, 41]: the 19 grid values, their 18 slopes, the peak, the peak's day, the midsummer
    low and how far the autumn climbs back above it."""
    c = curve.T
    low = c[:, SUMMER].min(axis=1, keepdims=True)
    return np.hstack([c, np.diff(c, axis=1), c.max(axis=1, keepdims=True), GRID_DOY[c.argmax(axis=1)][:, None],
                      low, c[:, -3:].mean(axis=1, keepdims=True) - low]).astype(np.float32)  # fmt: skip


def pixel_features(layers: list[tuple[date | None, dict[str, np.ndarray]]]) -> tuple[np.ndarray, np.ndarray]:
    """(features [h·w, 41], usable [h, w]: at least ``MIN_DATES`` clear dates after despiking)."""
    return series_features(*ndvi_series(layers))


def series_features(series: np.ndarray, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pixel_features`` of an NDVI series [dates, h, w] and its days of year."""
    t, h, w = series.shape
    flat = despike(series.reshape(t, h * w))
    usable = np.isfinite(flat).sum(axis=0) >= MIN_DATES
    return features(interpolate(flat, doy)), usable.reshape(h, w)


@dataclass(frozen=True)
class Trees:
    """A boosted tree ensemble as flat arrays (from scikit-learn's HistGradientBoostingClassifier)."""

    baseline: float
    trees: list[dict[str, np.ndarray]]
    threshold: float
    meta: dict[str, Any]

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(positive) per row of ``x`` [n, features] (rows with NaN go where training sent missing)."""
        n = len(x)
        rows = np.arange(n)
        raw = np.full(n, self.baseline, np.float64)
        for t in self.trees:
            node = np.zeros(n, np.int32)
            for _ in range(int(t["depth"])):
                leaf = t["leaf"][node]
                if leaf.all():
                    break
                value = x[rows, t["feature"][node]]
                left = np.where(np.isnan(value), t["missing_left"][node], value <= t["threshold"][node])
                node = np.where(leaf, node, np.where(left, t["left"][node], t["right"][node]))
            raw += t["value"][node]
        return (1 / (1 + np.exp(-raw))).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        keys = ("feature", "threshold", "left", "right", "leaf", "missing_left", "value")
        trees = [{k: t[k].tolist() for k in keys} | {"depth": int(t["depth"])} for t in self.trees]
        return {**self.meta, "threshold": self.threshold, "baseline": self.baseline, "trees": trees}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Trees:
        types = {"feature": np.int32, "threshold": np.float64, "left": np.int32, "right": np.int32,
                 "leaf": bool, "missing_left": bool, "value": np.float64}  # fmt: skip
        trees = [{k: np.asarray(t[k], dtype) for k, dtype in types.items()} | {"depth": int(t["depth"])}
                 for t in doc["trees"]]  # fmt: skip
        for n, tree in enumerate(trees):
            _check_tree(n, tree)
        meta = {k: v for k, v in doc.items() if k not in ("trees", "baseline", "threshold")}
        made = cls(float(doc["baseline"]), trees, float(doc["threshold"]), meta)
        if not (np.isfinite(made.baseline) and 0 <= made.threshold <= 1):
            raise ValueError("baseline or threshold out of range")
        return made

    @classmethod
    def from_sklearn(cls, clf: Any, threshold: float, meta: dict[str, Any]) -> Trees:
        trees = []
        for (predictor,) in clf._predictors:  # binary: one tree per iteration
            nodes = predictor.nodes
            trees.append({
                "feature": nodes["feature_idx"].astype(np.int32), "threshold": nodes["num_threshold"].astype(np.float64),
                "left": nodes["left"].astype(np.int32), "right": nodes["right"].astype(np.int32),
                "leaf": nodes["is_leaf"].astype(bool), "missing_left": nodes["missing_go_to_left"].astype(bool),
                "value": nodes["value"].astype(np.float64), "depth": int(nodes["depth"].max()) + 1,
            })  # fmt: skip
        return cls(float(np.ravel(clf._baseline_prediction)[0]), trees, threshold, meta)


def _check_tree(n: int, tree: dict[str, Any]) -> None:
    """A model file is input like any other: every index must point inside its arrays, or scoring
    would read out of bounds (an IndexError deep in a run, or a wrong branch taken)."""
    size = len(tree["leaf"])
    if size == 0 or any(tree[k].ndim != 1 or len(tree[k]) != size for k in tree if k != "depth"):
        raise ValueError(f"tree {n}: its node arrays differ in length or are empty")
    inner = ~tree["leaf"]
    for key in ("left", "right"):
        if ((tree[key][inner] <= 0) | (tree[key][inner] >= size)).any():
            raise ValueError(f"tree {n}: a {key} child outside its {size} nodes")
    if ((tree["feature"][inner] < 0) | (tree["feature"][inner] >= N_FEATURES)).any():
        raise ValueError(f"tree {n}: a split on a feature the curve does not have (0–{N_FEATURES - 1})")
    if not (1 <= tree["depth"] <= 64) or not np.isfinite(tree["value"]).all():
        raise ValueError(f"tree {n}: depth {tree['depth']} or its leaf values are out of range")


@lru_cache(maxsize=2)
def load(path: str | None = None) -> Trees:
    """The shipped plantation model, or one written by ``shekteu field train-phenology``."""
    try:
        if path is None:
            text = resources.files("shekteu.field").joinpath("data", MODEL_FILE).read_text()
        else:
            p = Path(path)
            text = (p / MODEL_FILE if p.is_dir() else p).read_text()
        return Trees.from_json(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FieldError(f"cannot load the phenology model from {path or 'the package'}: {exc}") from None


def score_dates(
    layers: list[tuple[date | None, dict[str, np.ndarray]]], model: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(hemp) 0–1, usable, latest NDVI) per 10 m pixel, as ``seasonality.score_dates`` gives them."""
    series, doy = ndvi_series(layers)
    x, usable = series_features(series, doy)
    h, w = usable.shape
    p = np.zeros(h * w, np.float32)
    flat = usable.ravel()
    if flat.any():
        p[flat] = load(model).probability(x[flat])
    seen = np.isfinite(series)
    last = _fill(seen.reshape(len(series), -1), True)[-1]
    latest = np.where(last >= 0, series.reshape(len(series), -1)[np.clip(last, 0, None), np.arange(h * w)], 0)
    return p.reshape(h, w), usable, latest.reshape(h, w).astype(np.float32)


DENSITY = (("dense", 0.6), ("sparse", 0.25), ("isolated", 0.0))  # share of stand pixels within 50 m


def density_classes(mask: np.ndarray, window: int = 5) -> np.ndarray:
    """Per cell of a stand mask: 0 not stand, 1 dense, 2 sparse, 3 isolated — by the share of stand
    cells in the ``window`` × ``window`` cells around it (50 m at 10 m), the way ground surveys state
    wild hemp (thickets, scattered plants, single clumps)."""
    from scipy import ndimage

    share = ndimage.uniform_filter(mask.astype(np.float32), window, mode="constant")
    out = np.zeros(mask.shape, np.uint8)
    for i, (_, floor) in enumerate(DENSITY, 1):
        out[mask & (out == 0) & (share >= floor - 1e-6)] = i
    return out
