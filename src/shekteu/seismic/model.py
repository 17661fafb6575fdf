"""The shipped event classifier: a small random forest stored as plain arrays, run with numpy.

``data/seismic_forest.npz`` holds each tree's split features, thresholds, children and leaf class
shares (no pickle: loading it runs no code) and a JSON note of how it was trained and what it scored
on sites it never saw. ``shekteu seismic train`` rebuilds it with scikit-learn; classifying needs
only numpy. Classes: ``footstep``, ``vehicle``, ``other`` (quakes, rockfall, blasts, wind, animals)
and ``none`` (background: nothing happened).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.seismic import SeismicError
from shekteu.seismic.features import NAMES

FILE = "seismic_forest.npz"
CLASSES = ("footstep", "vehicle", "other", "none")


@dataclass(frozen=True)
class Forest:
    feature: np.ndarray  # per node: feature index, -1 at leaves
    threshold: np.ndarray
    left: np.ndarray  # per node: child index within the flat arrays (already offset by tree)
    right: np.ndarray
    value: np.ndarray  # per node: class shares (leaves only are used)
    roots: np.ndarray
    classes: tuple[str, ...]
    meta: dict[str, Any]

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class shares (rows × classes) averaged over the trees."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != len(NAMES):
            raise SeismicError(f"the model expects {len(NAMES)} features, got {x.shape[1]}")
        rows = np.arange(len(x))
        total = np.zeros((len(x), len(self.classes)))
        for root in self.roots:
            node = np.full(len(x), root)
            while True:
                f = self.feature[node]
                inner = f >= 0
                if not inner.any():
                    break
                go_left = x[rows[inner], f[inner]] <= self.threshold[node[inner]]
                node[inner] = np.where(go_left, self.left[node[inner]], self.right[node[inner]])
            total += self.value[node]
        return total / len(self.roots)

    def predict(self, x: np.ndarray) -> list[tuple[str, float]]:
        p = self.proba(x)
        return [(self.classes[int(i)], float(row[i])) for row, i in zip(p, p.argmax(axis=1), strict=True)]


def from_sklearn(model: Any, meta: dict[str, Any]) -> Forest:
    """Flatten a fitted scikit-learn forest into the arrays ``Forest`` evaluates."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}
    roots, offset = [], 0
    for est in model.estimators_:
        t = est.tree_
        roots.append(offset)
        leaf = t.children_left < 0
        parts["feature"].append(np.where(leaf, -1, t.feature).astype(np.int16))
        parts["threshold"].append(t.threshold.astype(np.float64))
        parts["left"].append(np.where(leaf, -1, t.children_left + offset).astype(np.int32))
        parts["right"].append(np.where(leaf, -1, t.children_right + offset).astype(np.int32))
        v = t.value[:, 0, :]
        parts["value"].append((v / v.sum(axis=1, keepdims=True)).astype(np.float32))
        offset += t.node_count
    classes = tuple(str(c) for c in model.classes_)
    return Forest(*(np.concatenate(parts[k]) for k in ("feature", "threshold", "left", "right", "value")),
                  np.array(roots, dtype=np.int32), classes, meta)  # fmt: skip


def save(forest: Forest, path: Path) -> None:
    np.savez_compressed(path, feature=forest.feature, threshold=forest.threshold, left=forest.left,
                        right=forest.right, value=forest.value, roots=forest.roots,
                        classes=np.array(forest.classes), meta=np.array(json.dumps(forest.meta)))  # fmt: skip


def load(path: Path | None = None) -> Forest:
    """The forest at ``path``, or the shipped one."""
    if path is None:
        return _shipped()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _shipped() -> Forest:
    ref = resources.files("shekteu.seismic") / "data" / FILE
    if not ref.is_file():
        raise SeismicError("no seismic model shipped with this install; build one with `shekteu seismic train`")
    with resources.as_file(ref) as p:
        return _load(p)


def _load(path: Path) -> Forest:
    try:
        z = np.load(path, allow_pickle=False)
        forest = Forest(z["feature"].astype(np.int64), z["threshold"], z["left"].astype(np.int64),
                        z["right"].astype(np.int64), z["value"].astype(np.float64), z["roots"],
                        tuple(str(c) for c in z["classes"]), json.loads(str(z["meta"])))  # fmt: skip
    except (OSError, KeyError, ValueError) as exc:
        raise SeismicError(f"{path}: not a seismic model ({exc})") from None
    if forest.meta.get("features") != list(NAMES):
        raise SeismicError(f"{path}: built for other features; rebuild it with `shekteu seismic train`")
    return forest
