"""Skip land where no grow can be before the aerial network runs: bare steppe, salt flats, water.

Most of a Shu-valley scene is bare in any month, and the network costs the same on bare ground as on a
plantation. A cell can hold a grow only if some vegetation lies within ``REACH_CELLS`` of it: a
pixel (one per 1.2 m half-cell, read before any pooling) whose NDVI passes ``GREEN_NDVI``. On all 103
labelled parcels that rule keeps every labelled grow cell (measured: 100 % at 24 cells and NDVI 0.15,
99.8 % at 16), early-season grows on cleared soil included, which a "green" rule (half-cell NDVI 0.25
within 8 cells) lost a quarter of. The network runs only on boxes that hold such cells, each with its
full halo and on the same pooling grid, so the cells it scores get exactly the answer a whole-window
run gives (tested); pooling itself is one cheap pass everywhere (``pooling.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GREEN_NDVI = 0.15
REACH_CELLS = 24
WHOLE_SHARE = 0.7  # strips covering more of the window than this: one whole-window run is cheaper


def needed_cells(sampled: np.ndarray) -> np.ndarray:
    """Cells within ``REACH_CELLS`` of a cell with a vegetation sample: one pixel per half-cell (every
    ``k // 2``-th of every ``k // 2``-th row) with NDVI over ``GREEN_NDVI``, found by the pooling pass
    (``features.pooled``) from the raw bands."""
    from scipy import ndimage

    if not sampled.any():
        return sampled
    return ndimage.maximum_filter(sampled, size=2 * REACH_CELLS + 1, mode="constant")


def boxes(need: np.ndarray, unit: int, halo: int) -> list[tuple[int, int, int, int]]:
    """Boxes (row0, row1, col0, col1, in window cells with the halo) whose cores cover every needed
    cell of the window core; each starts on a multiple of ``unit`` and is whole units long. Runs of
    needed rows, then runs of needed columns within each, and the rows those columns need: runs less
    than two halos apart are one box, since apart each would pay a halo of its own."""
    core = need[halo : need.shape[0] - halo, halo : need.shape[1] - halo]
    rows, cols = core.shape
    out = []
    for r0, r1 in _runs(core.any(axis=1), 2 * halo, unit, rows):
        for c0, c1 in _runs(core[r0:r1].any(axis=0), 2 * halo, unit, cols):
            for q0, q1 in _runs(core[r0:r1, c0:c1].any(axis=1), 2 * halo, unit, r1 - r0):
                out.append((r0 + q0, r0 + q1 + 2 * halo, c0, c1 + 2 * halo))
    area = sum((b[1] - b[0]) * (b[3] - b[2]) for b in out)
    if area > WHOLE_SHARE * need.size:
        return [(0, need.shape[0], 0, need.shape[1])]
    return out


def _runs(used: np.ndarray, join: int, unit: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of the runs of ``used``, widened to whole ``unit``s within ``size``, with runs
    fewer than ``join`` apart joined."""
    at = np.flatnonzero(used)
    if not len(at):
        return []
    out: list[list[int]] = []
    for start, stop in zip(at[np.r_[0, np.flatnonzero(np.diff(at) > 1) + 1]],
                           at[np.r_[np.flatnonzero(np.diff(at) > 1), len(at) - 1]] + 1, strict=True):  # fmt: skip
        start, stop = int(start) // unit * unit, min(-(-int(stop) // unit) * unit, size)
        if out and start - out[-1][1] < join:
            out[-1][1] = stop
        else:
            out.append([start, stop])
    return [(a, b) for a, b in out]


def screened(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray, usable: np.ndarray, need: np.ndarray,
    boxes_: list[tuple[int, int, int, int]], halo: int,
) -> np.ndarray:  # fmt: skip
    """``run(x, usable)`` (probability per cell) over ``boxes_`` only; 0 for every cell not needed."""
    probability = np.zeros(usable.shape, np.float32)
    for r0, r1, c0, c1 in boxes_:
        p = run(x[:, 2 * r0 : 2 * r1, 2 * c0 : 2 * c1], usable[r0:r1, c0:c1])
        if (r0, c0) == (0, 0) and (r1, c1) == usable.shape:
            probability = p
        else:
            probability[r0 + halo : r1 - halo, c0 + halo : c1 - halo] = p[halo:-halo, halo:-halo]
    return np.where(need & usable, probability, np.float32(0))
