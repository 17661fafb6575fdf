"""The aerial detector's second stage: judge each candidate site as a whole, not cell by cell.

The network answers per 2.4 m cell; a patrol goes to a site. Some sites it draws are a sunlit
meadow edge or a vineyard row for a few cells — shapes and textures that are plain once the whole
candidate is seen: too thin, too faint, one bright blob without the row texture of planted beds.
Each candidate (a component of the mask) is described by its size, shape, the network's confidence
over it and its colour and NDVI spread, and a small tree ensemble trained on out-of-fold candidates
("does it touch a labelled grow?") keeps or drops it. Used where ``bench/field_variants.py`` shows it
pays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FEATURES = ("log_cells", "p_mean", "p_max", "p_sd", "ndvi_mean", "ndvi_sd", "texture", "red", "green", "blue",
            "nir", "fill", "aspect", "edge_share")  # fmt: skip


def candidates(mask: np.ndarray, probability: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(8-connected component labels of ``mask``, features [components, len(FEATURES)]) for a cell
    mask, the network's probabilities and its input ``x`` [6, 2·rows, 2·cols] (half-cells)."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, np.ones((3, 3)))
    if n == 0:
        return labels, np.zeros((0, len(FEATURES)), np.float32)
    rows, cols = mask.shape
    cell = x[:, : 2 * rows, : 2 * cols].reshape(x.shape[0], rows, 2, cols, 2).mean(axis=(2, 4))
    flat = labels.ravel()
    count = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)

    def mean(a: np.ndarray) -> np.ndarray:
        return np.bincount(flat, a.ravel().astype(np.float64), n + 1)[1:] / count

    def spread(a: np.ndarray) -> np.ndarray:
        m = mean(a)
        return np.sqrt(np.maximum(mean(a.astype(np.float64) ** 2) - m * m, 0))

    inner = ndimage.binary_erosion(mask)
    edge = mean((mask & ~inner).astype(np.float32))
    p_max = np.asarray(ndimage.maximum(probability, labels, np.arange(1, n + 1)), np.float64)
    boxes = ndimage.find_objects(labels)
    sides = np.array([(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes], np.float64)
    fill = count / (sides[:, 0] * sides[:, 1])
    aspect = sides.min(axis=1) / sides.max(axis=1)
    feats = np.column_stack([np.log(count), mean(probability), p_max, spread(probability), mean(cell[4]),
                             spread(cell[4]), mean(cell[5]), *(mean(cell[i]) for i in range(4)), fill, aspect, edge])  # fmt: skip
    return labels, feats.astype(np.float32)


def site_classifier(x: np.ndarray, y: np.ndarray) -> Any:
    """A small boosted tree ensemble (scikit-learn) over candidate features: P(a real grow)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=10,
                                         class_weight="balanced", random_state=0)  # fmt: skip
    return clf.fit(x, y)
