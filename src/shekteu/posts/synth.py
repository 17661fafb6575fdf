"""Generated road networks with answers known by construction, for tests and the benchmark.

A grid of roads (optionally jittered and thinned) placed at a real longitude/latitude, written as
GeoJSON the way an OSM export would be: one LineString per road segment with ``highway`` and
``name``, shared vertices at junctions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

KM_LAT = 1 / 111.32


def grid(nx: int, ny: int, *, spacing_km: float = 2.0, lon0: float = 73.0, lat0: float = 43.5,
         drop: float = 0.0, seed: int = 1, highway: str = "tertiary") -> list[dict[str, Any]]:  # fmt: skip
    """Road segments of an ``nx`` × ``ny`` grid (``drop`` share of them removed at random)."""
    rng = np.random.default_rng(seed)
    km_lon = KM_LAT / math.cos(math.radians(lat0))

    def node(i: int, j: int) -> list[float]:
        return [round(lon0 + i * spacing_km * km_lon, 7), round(lat0 + j * spacing_km * KM_LAT, 7)]

    feats = []
    for i in range(nx):
        for j in range(ny):
            for di, dj in ((1, 0), (0, 1)):
                a, b = i + di, j + dj
                if a >= nx or b >= ny or (drop and rng.random() < drop):
                    continue
                feats.append(line([node(i, j), node(a, b)], name=f"r{i}.{j}-{a}.{b}", highway=highway))
    return feats


def line(coords: list[list[float]], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": props}


def point(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def offset(lon0: float, lat0: float, east_km: float, north_km: float) -> tuple[float, float]:
    """The point ``east_km`` east and ``north_km`` north of (lon0, lat0)."""
    return lon0 + east_km * KM_LAT / math.cos(math.radians(lat0)), lat0 + north_km * KM_LAT


def write(path: Path, features: list[dict[str, Any]]) -> Path:
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return Path(path)


CHU_VALLEY = ("Shu", "Korday", "Moiynkum", "Merke", "Turar Ryskulov")


def district_sources(names: tuple[str, ...] = CHU_VALLEY, *, per_district: int = 4, hectares: float = 63_000,
                     seed: int = 1) -> list[dict[str, Any]]:  # fmt: skip
    """Stand-in hemp sites: points drawn uniformly inside the named shipped districts (English names),
    ``hectares`` shared equally. For benchmarks and demos only — real plans use the field registry."""
    from shekteu.geo import boundaries

    areas = {a.name_en: a for a in boundaries.load()}
    rng = np.random.default_rng(seed)
    feats = []
    each = hectares / (len(names) * per_district)
    for name in names:
        area = areas[name]
        placed = 0
        while placed < per_district:
            lon, lat = rng.uniform(area.bbox[0], area.bbox[2]), rng.uniform(area.bbox[1], area.bbox[3])
            if area.contains(lat, lon):
                feats.append(point(round(lon, 5), round(lat, 5), name=f"{name} {placed + 1}", hectares=round(each, 1)))
                placed += 1
    return feats
