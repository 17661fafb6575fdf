"""Sentinel-2 time series: wild hemp greens in June–August and dries in September–October.

There is no labelled Sentinel-2 hemp data to train on, so at 10 m the score is a documented rule over
the season rather than a learnt model: green in summer (peak NDVI), dry in autumn (NDVI falls), not
irrigated (summer NDMI from B08/B11 stays low, unlike watered crops) and not green in spring (unlike
winter crops and evergreen trees). Each term is a ramp from 0 to 1; missing seasons give a neutral
factor, so one summer date alone can reach at most 0.6 — a weaker "green, unirrigated" candidate.
Cloudy and shadowed pixels (SCL) are left out date by date.
"""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np

from shekteu.field.features import indices

THRESHOLD = 0.5


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0, 1)


def _season_extreme(
    values: list[np.ndarray], valids: list[np.ndarray], pick
) -> tuple[np.ndarray, np.ndarray]:
    stack = np.stack([np.where(v, x, np.nan) for x, v in zip(values, valids, strict=True)])
    seen = np.any(np.stack(valids), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN where a season saw only clouds
        out = pick(stack, axis=0)
    return np.nan_to_num(out), seen


def score_dates(
    layers: list[tuple[date | None, dict[str, np.ndarray]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score 0–1, usable, latest NDVI) per 10 m pixel from the dated band sets of one window."""
    by_season: dict[str, list[tuple[dict, np.ndarray]]] = {"spring": [], "summer": [], "autumn": []}
    latest_ndvi = None
    usable = None
    for when, bands in layers:
        idx = indices(bands)
        valid = bands["valid"]
        usable = valid if usable is None else usable | valid
        latest_ndvi = np.where(valid, idx["ndvi"], latest_ndvi if latest_ndvi is not None else 0)
        month = when.month if when else 7  # an undated image is taken as summer
        season = (
            "spring"
            if 3 <= month <= 5
            else "summer"
            if 6 <= month <= 8
            else "autumn"
            if 9 <= month <= 10
            else ""
        )
        if season:
            by_season[season].append((idx, valid))
    assert usable is not None and latest_ndvi is not None
    score = np.zeros(usable.shape, np.float32)
    summer = by_season["summer"]
    if not summer:
        return score, usable, latest_ndvi.astype(np.float32)
    peak, seen = _season_extreme([i["ndvi"] for i, _ in summer], [v for _, v in summer], np.nanmax)
    score = _ramp(peak, 0.3, 0.55)
    if by_season["autumn"]:
        low, seen_autumn = _season_extreme(
            [i["ndvi"] for i, _ in by_season["autumn"]], [v for _, v in by_season["autumn"]], np.nanmin
        )
        score = score * np.where(seen_autumn, _ramp(peak - low, 0.05, 0.25), 0.6)
    else:
        score = score * 0.6
    wet = [(i["ndmi"], v) for i, v in summer if "ndmi" in i]
    if wet:
        ndmi, seen_wet = _season_extreme([x for x, _ in wet], [v for _, v in wet], np.nanmax)
        score = score * np.where(seen_wet, 1 - 0.7 * _ramp(ndmi, 0.2, 0.4), 1)
    if by_season["spring"]:
        spring, seen_spring = _season_extreme(
            [i["ndvi"] for i, _ in by_season["spring"]], [v for _, v in by_season["spring"]], np.nanmax
        )
        score = score * np.where(seen_spring, 1 - 0.7 * _ramp(spring, 0.4, 0.6), 1)
    score = np.where(seen, score, 0)
    return score.astype(np.float32), usable, latest_ndvi.astype(np.float32)
