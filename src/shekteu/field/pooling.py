"""Pixels to the aerial network's input in one pass over each window, compiled with Numba.

Pooling a 0.6 m window into half-cells (band means, NDVI mean and spread) and cells (usable, mean NDVI,
green share), and finding the pre-screen's vegetation samples, cost more than the network itself
when done as NumPy array operations: each step streams the whole window through memory again, in
float copies four times the size of the stored bytes (measured on a 20,000² scene, one core:
pre-screen 1.6 s + pooling 3.3 s; this pass does both in a fraction of it). Each pixel is read once,
turned into reflectance as ``imagery.reflectance`` does, and summed in the order the old strided
NumPy sums used (along a row, then down the rows), so integer counts and floats pool alike and the
shipped model sees what it was trained on. The kernels release the GIL, so windows pool in parallel
threads; compiled code is cached on disk by Numba, once per input type.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

GREEN = 0.25  # a pixel is green at NDVI over this (the cell's green share)


def _pool(
    red: np.ndarray, green: np.ndarray, blue: np.ndarray, nir: np.ndarray, valid: np.ndarray, k: int,
    scale: np.float32, sample_ndvi: np.float32, x: np.ndarray, usable: np.ndarray, cell_ndvi: np.ndarray,
    cell_green: np.ndarray, sampled: np.ndarray,
) -> int:  # fmt: skip
    """The pass itself (plain Python that Numba compiles): see the module docstring and ``pool_window``."""
    half = k // 2 if k % 2 == 0 else k
    width = valid.shape[1]
    rows, cols = valid.shape[0] // k, width // k
    hrows, hcols = valid.shape[0] // half, width // half
    step = max(1, k // 2)  # the pre-screen's samples: every step-th pixel of every step-th row
    per = k // step
    srows, scols = ((valid.shape[0] + step - 1) // step) // per, ((width + step - 1) // step) // per
    line = np.empty((8, width), np.float32)  # one pixel row: r, g, b, n, ndvi, ndvi², green, valid
    sums = np.empty((8, hcols), np.float32)  # the same summed over one half-cell row
    # count, ndvi, green of one cell row (even k); then 1 / count, NDVI mean and spread of a half-row
    cell = np.empty((6, max(cols, hcols)), np.float32)
    one, zero = np.float32(1), np.float32(0)
    for hr in range(hrows):
        sums[:] = 0
        for dy in range(half):
            y = hr * half + dy
            r_, g_, b_, n_, v_ = red[y], green[y], blue[y], nir[y], valid[y]
            l0, l1, l2, l3, l4, l5, l6, l7 = line[0], line[1], line[2], line[3], line[4], line[5], line[6], line[7]
            for xx in range(width):  # branch-free over row views, so it runs on vector instructions
                v = one if v_[xx] else zero
                r = np.float32(r_[xx]) * scale
                n = np.float32(n_[xx]) * scale
                den = n + r
                nd = (n - r) / (den if den > 0 else np.float32(np.inf))
                l0[xx] = r * v
                l1[xx] = np.float32(g_[xx]) * scale * v
                l2[xx] = np.float32(b_[xx]) * scale * v
                l3[xx] = n * v
                l4[xx] = nd * v
                l5[xx] = nd * nd * v
                l6[xx] = (one if nd > GREEN else zero) * v
                l7[xx] = v
            if y % step == 0 and (y // step) < srows * per:
                hit = sampled[(y // step) // per]
                for cs in range(scols):  # no division per sample: they cost more than the rest
                    for j in range(per):
                        xx = (cs * per + j) * step
                        rr, nn = np.float32(r_[xx]), np.float32(n_[xx])
                        if v_[xx] and nn + rr > 0 and nn - rr > sample_ndvi * (nn + rr):
                            hit[cs] = True
            # Along the row first, then down the rows: the order of the old strided NumPy sums.
            # Half-cells of 1 and 2 pixels get loops of their own (a loop over dx defeats vectorising).
            for c in range(8):
                lc, sc = line[c], sums[c]
                if half == 1:
                    for hc in range(hcols):
                        sc[hc] += lc[hc]
                elif half == 2:
                    for hc in range(hcols):
                        sc[hc] += lc[2 * hc] + lc[2 * hc + 1]
                else:
                    for hc in range(hcols):
                        t = lc[hc * half]
                        for dx in range(1, half):
                            t += lc[hc * half + dx]
                        sc[hc] += t
        count, inv, mean, spread = sums[7], cell[3], cell[4], cell[5]
        for hc in range(hcols):  # one loop per value: each runs on vector instructions
            inv[hc] = one / max(count[hc], one)
        for hc in range(hcols):
            mean[hc] = sums[4, hc] * inv[hc]
        for hc in range(hcols):
            spread[hc] = np.float32(4) * np.sqrt(max(sums[5, hc] * inv[hc] - mean[hc] * mean[hc], zero))
        if half == k:  # a cell that cannot be halved: its values over its four half-cells
            for c in range(6):
                for hc in range(hcols):
                    value = spread[hc] if c == 5 else mean[hc] if c == 4 else sums[c, hc] * inv[hc]
                    x[c, 2 * hr, 2 * hc] = x[c, 2 * hr, 2 * hc + 1] = value
                    x[c, 2 * hr + 1, 2 * hc] = x[c, 2 * hr + 1, 2 * hc + 1] = value
            for hc in range(hcols):
                usable[hr, hc] = count[hc] >= (k * k) / 2
                cell_ndvi[hr, hc] = mean[hc]
                cell_green[hr, hc] = sums[6, hc] * inv[hc]
        else:
            for c in range(4):
                xc, sc = x[c, hr], sums[c]
                for hc in range(hcols):
                    xc[hc] = sc[hc] * inv[hc]
            x[4, hr] = mean[:hcols]
            x[5, hr] = spread[:hcols]
        if half != k:  # two half-rows make a cell row: half-cell sums added as the old 2 × 2 sums were
            if hr % 2 == 0:
                cell[:] = 0
            for cc in range(cols):
                cell[0, cc] += sums[7, 2 * cc] + sums[7, 2 * cc + 1]
                cell[1, cc] += sums[4, 2 * cc] + sums[4, 2 * cc + 1]
                cell[2, cc] += sums[6, 2 * cc] + sums[6, 2 * cc + 1]
            if hr % 2 == 1:
                cr = hr // 2
                for cc in range(cols):
                    inv[cc] = one / max(cell[0, cc], one)
                for cc in range(cols):
                    usable[cr, cc] = cell[0, cc] >= (k * k) / 2
                    cell_ndvi[cr, cc] = cell[1, cc] * inv[cc]
                    cell_green[cr, cc] = cell[2, cc] * inv[cc]
    return rows


@lru_cache(maxsize=1)
def _kernels() -> Any:
    """``_pool`` compiled, the compiled code cached on disk (beside this file, or in the user's cache
    folder where this one is read-only); with nowhere to cache it, compiled afresh in each process."""
    from shekteu.field import FieldError

    try:
        import numba
    except ImportError:
        raise FieldError("field detection needs numba: pip install 'shekteu[field]'") from None
    try:
        return numba.njit(nogil=True, cache=True)(_pool)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return numba.njit(nogil=True)(_pool)


def pool_window(
    b: dict[str, np.ndarray], k: int, sample_ndvi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(network input [6, 2·rows, 2·cols], usable cells, mean NDVI per cell, green share per cell,
    cells with a pre-screen sample over ``sample_ndvi``) for a window whose sides are multiples of
    ``k``. See ``features.network_input`` for what each holds."""
    rows, cols = b["valid"].shape[0] // k, b["valid"].shape[1] // k
    h, w = rows * k, cols * k  # a ragged edge is left out (the compiled pass checks no bounds)
    dtype = b["red"].dtype
    scale = {np.dtype(np.uint8): 1 / 255, np.dtype(np.uint16): 1 / 65535}.get(dtype, 0.0)
    bands = [np.ascontiguousarray(b[n][:h, :w]) for n in ("red", "green", "blue", "nir")]
    if any(a.shape != (h, w) for a in bands):
        raise ValueError("the four bands of a window must have its shape")
    if scale == 0.0:  # floats: clipped to 0–1, as imagery.reflectance does
        bands = [np.clip(a.astype(np.float32, copy=False), 0, 1) for a in bands]
        scale = 1.0
    elif any(a.dtype != dtype for a in bands):
        raise ValueError("the four bands of a window must have one type")
    step = max(1, k // 2)
    per = k // step
    x = np.empty((6, 2 * rows, 2 * cols), np.float32)
    usable, ndvi, green = np.empty((rows, cols), bool), np.empty((rows, cols), np.float32), np.empty((rows, cols), np.float32)
    sampled = np.zeros((-(-h // step) // per, -(-w // step) // per), bool)
    _kernels()(*bands, np.ascontiguousarray(b["valid"][:h, :w]), k, np.float32(scale), np.float32(sample_ndvi),
               x, usable, ndvi, green, sampled)  # fmt: skip
    return x, usable, ndvi, green, sampled
