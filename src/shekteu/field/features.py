"""What the aerial network sees: per-half-cell band means and NDVI texture, and per-cell summaries.

A grow is a pattern, not a colour: rows of plants on cleared soil, netting and paths. Pixels (0.6 m)
are pooled into half-cells of 1.2 m — band means, NDVI and the spread of NDVI inside each (plant-sized
texture) — which the network (``network.py``) reads, and into cells of about 2.4 m (4 × 4 NAIP
pixels), the grid it answers on. Pooling keeps detection fast and the same at any resolution up to 2 m.
"""

from __future__ import annotations

import numpy as np

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


def network_input(b: dict[str, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(network input [6, 2·rows, 2·cols] per half-cell, usable cells, mean NDVI per cell, green share
    per cell) for a window whose sides are multiples of ``k``; integer bands are taken as stored counts
    (see ``imagery.reflectance``). The input holds the band means, NDVI and 4 × the spread of NDVI
    inside each half-cell (1.2 m at 0.6 m pixels), over valid pixels only; with an odd ``k`` a cell
    cannot be halved, so each cell's values are repeated over its four half-cells. A cell is usable
    when at least half its pixels are valid; its green share counts valid pixels over NDVI 0.25."""
    return pooled(b, k)[:4]


def pooled(
    b: dict[str, np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``network_input``'s four arrays and the pre-screen's vegetation samples per cell
    (``prescreen.GREEN_NDVI``), from one pass over the window's pixels (``pooling.py``)."""
    from shekteu.field.pooling import pool_window
    from shekteu.field.prescreen import GREEN_NDVI

    return pool_window(b, k, GREEN_NDVI)
