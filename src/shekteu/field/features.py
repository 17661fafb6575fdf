"""What the aerial network sees: per-half-cell band means and NDVI texture, and per-cell summaries.

A grow is a pattern, not a colour: rows of plants on cleared soil, netting and paths. Pixels (0.6 m)
are pooled into half-cells of 1.2 m — band means, NDVI and the spread of NDVI inside each (plant-sized
texture) — which the network (``network.py``) reads, and into cells of about 2.4 m (4 × 4 NAIP
pixels), the grid it answers on. Pooling keeps detection fast and the same at any resolution up to 2 m.
"""

from __future__ import annotations

import numpy as np

from shekteu.field.imagery import reflectance

CELL_METRES = 2.4
CHANNELS = ("red", "green", "blue", "nir", "ndvi", "ndvi_sd")


def cell_pixels(resolution: float) -> int:
    """Pixels per cell side at this ground resolution (4 at 0.6 m, 1 at 10 m)."""
    return max(1, round(CELL_METRES / resolution))


def indices(
    b: dict[str, np.ndarray], names: tuple[str, ...] = ("ndvi", "gndvi", "ndre", "ndmi")
) -> dict[str, np.ndarray]:
    """NDVI, GNDVI and (with red-edge and SWIR bands) NDRE and NDMI; zero where the denominator is not
    positive (no data). A ufunc with ``where=`` is ten times slower than dividing by ``inf`` there."""
    out = {}
    pairs = {
        "ndvi": ("nir", "red"),
        "gndvi": ("nir", "green"),
        "ndre": ("nir", "rededge"),
        "ndmi": ("nir", "swir"),
    }
    for name in names:
        x, y = pairs[name]
        if x in b and y in b:
            den = b[x] + b[y]
            den[den <= 0] = np.inf
            diff = b[x] - b[y]
            out[name] = np.divide(diff, den, out=diff)
    return out


def _cell_sum(a: np.ndarray, k: int) -> np.ndarray:
    """Sums over k × k cells, as k + k strided additions: ten times faster than ``reshape().sum()``,
    whose reduction over a short inner axis NumPy does not vectorise."""
    rows = a[:, 0::k].copy()
    for i in range(1, k):
        rows += a[:, i::k]
    out = rows[0::k].copy()
    for i in range(1, k):
        out += rows[i::k]
    return out


STRIP_CELLS = 8  # rows of cells pooled at a time: a strip's arrays stay in the CPU cache


def network_input(
    b: dict[str, np.ndarray], k: int, rows_needed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(network input [6, 2·rows, 2·cols] per half-cell, usable cells, mean NDVI per cell, green share
    per cell) for a window whose sides are multiples of ``k``; integer bands are taken as stored counts
    (see ``imagery.reflectance``). The input holds the band means, NDVI and 4 × the spread of NDVI
    inside each half-cell (1.2 m at 0.6 m pixels), over valid pixels only; with an odd ``k`` a cell
    cannot be halved, so each cell's values are repeated over its four half-cells.
    Pooled in strips: whole-window temporaries would stream through memory a dozen times, and two
    windows pooled at once on two cores were three times slower than one for it.
    With ``rows_needed`` (per cell row), strips without a needed row get only the per-cell summaries
    (usable, NDVI, green share) and a zero input: the pre-screen's bare land (``prescreen.py``)."""
    h, w = b["valid"].shape
    rows, cols = h // k, w // k
    out = (np.empty((len(CHANNELS), 2 * rows, 2 * cols), np.float32), np.empty((rows, cols), bool),
           np.empty((rows, cols), np.float32), np.empty((rows, cols), np.float32))  # fmt: skip
    step = STRIP_CELLS * k
    for r in range(0, rows * k, step):
        strip = {n: a[r : r + step] for n, a in b.items()}
        if rows_needed is None or rows_needed[r // k : (r + step) // k].any():
            part = _network_input(strip, k)
        else:
            part = _summary(strip, k)
        at, n = r // k, len(part[1])
        for o, p in zip(out, part, strict=True):
            per_cell = o.shape[-2] // rows  # 2 half-cells per cell for the input, 1 for the rest
            o[..., per_cell * at : per_cell * (at + n), :] = p
    return out


def _network_input(b: dict[str, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    b = {n: a if n == "valid" or a.dtype == np.float32 else reflectance(a) for n, a in b.items()}
    valid = b["valid"]
    ndvi = indices(b, ("ndvi",))["ndvi"]
    weight = None if valid.all() else valid.astype(np.float32)
    half = k // 2 if k % 2 == 0 else k
    h, w = valid.shape

    def pool(a: np.ndarray) -> np.ndarray:
        return _cell_sum(a if weight is None else a * weight, half)

    count = (
        np.full((h // half, w // half), np.float32(half * half))
        if weight is None
        else _cell_sum(weight, half)
    )
    inv = 1 / np.maximum(count, 1)
    sums = [pool(b[n]) for n in ("red", "green", "blue", "nir")]
    ndvi_sum, square = pool(ndvi), pool(ndvi * ndvi)
    green = pool((ndvi > 0.25).astype(np.float32))
    x = np.empty((6, *count.shape), np.float32)
    for i, s in enumerate(sums):
        np.multiply(s, inv, out=x[i])
    np.multiply(ndvi_sum, inv, out=x[4])
    x[5] = 4 * np.sqrt(np.maximum(square * inv - x[4] ** 2, 0))
    if half == k:  # cell-sized groups: repeat each over the cell's four half-cells
        x = x.repeat(2, axis=1).repeat(2, axis=2)
        cell_count, cell_ndvi, cell_green = count, ndvi_sum, green
    else:
        cell_count, cell_ndvi, cell_green = (_cell_sum(a, 2) for a in (count, ndvi_sum, green))
    inv = 1 / np.maximum(cell_count, 1)
    return x, cell_count >= (k * k) / 2, cell_ndvi * inv, cell_green * inv


def _summary(b: dict[str, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What ``_network_input`` gives for a strip the network will not read: a zero input, and the
    per-cell usable mask, mean NDVI and green share (sites and ``field change`` need those everywhere)."""
    valid = b["valid"]
    red, nir = (b[n] if b[n].dtype == np.float32 else reflectance(b[n]) for n in ("red", "nir"))
    den = red + nir
    den[den <= 0] = np.inf
    ndvi = (nir - red) / den
    h, w = valid.shape
    weight = valid.astype(np.float32)
    count = _cell_sum(weight, k)
    inv = 1 / np.maximum(count, 1)
    x = np.zeros((len(CHANNELS), 2 * (h // k), 2 * (w // k)), np.float32)
    return (x, count >= (k * k) / 2, _cell_sum(ndvi * weight, k) * inv,
            _cell_sum((ndvi > 0.25).astype(np.float32) * weight, k) * inv)  # fmt: skip
