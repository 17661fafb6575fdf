"""Which district (and oblast) a point is in, from the shipped KZ boundaries or any GeoJSON file.

The package ships its own copy of the 2024 district boundaries (``data/``, geokz by A. Rodionov,
CC BY 4.0), so nothing outside it is needed at run time. Lookups use a bounding-box prefilter and an
even-odd ray test over all rings in NumPy (holes and multipolygons included), which is enough for
points; polygons and rasters use shapely/rasterio in the field module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.geo.geojson import BoundaryError, features, parse_json, polygon_rings, properties

__all__ = ["Area", "BoundaryError", "load", "locate", "locate_many", "outlines", "parse"]

DEFAULT = "kz_adm2_2024.geojson.gz"


@dataclass(frozen=True)
class Area:
    kato: str
    name_kk: str
    name_ru: str
    name_en: str
    oblast_en: str
    oblast_ru: str
    rings: tuple[np.ndarray, ...]
    bbox: tuple[float, float, float, float]

    def contains(self, lat: float, lon: float) -> bool:
        minx, miny, maxx, maxy = self.bbox
        if not (minx <= lon <= maxx and miny <= lat <= maxy):
            return False
        inside = False
        for x, y, x2, y2 in self._edges:
            crosses = (y > lat) != (y2 > lat)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = x + (lat - y) * (x2 - x) / (y2 - y)
            inside ^= bool(np.count_nonzero(crosses & (lon < at)) % 2)
        return inside

    @cached_property
    def _edges(self) -> list[tuple[np.ndarray, ...]]:
        """Per ring: x, y of each edge's start and of its end (the next vertex), computed once."""
        return [(r[:, 0], r[:, 1], np.roll(r[:, 0], -1), np.roll(r[:, 1], -1)) for r in self.rings]

    def as_json(self) -> dict[str, str]:
        return {"kato": self.kato, "name": self.name_ru, "name_kk": self.name_kk, "name_en": self.name_en,
                "oblast": self.oblast_ru}  # fmt: skip


def parse(data: dict[str, Any], source: str) -> list[Area]:
    areas = []
    for n, feature in enumerate(features(data, source)):
        props = properties(feature)
        try:
            rings = polygon_rings(feature.get("geometry"))
        except ValueError as exc:
            raise BoundaryError(f"{source}: feature {n} has broken coordinates ({exc})") from None
        if not rings:
            continue
        stacked = np.vstack(rings)
        bbox = (
            float(stacked[:, 0].min()),
            float(stacked[:, 1].min()),
            float(stacked[:, 0].max()),
            float(stacked[:, 1].max()),
        )
        name = str(props.get("ADM2_RU") or props.get("name") or props.get("NAME") or f"area {n}")
        areas.append(Area(str(props.get("KATO") or props.get("kato") or ""), str(props.get("ADM2_KK") or name), name,
                          str(props.get("ADM2_EN") or name), str(props.get("ADM1_EN") or ""), str(props.get("ADM1_RU") or ""),
                          tuple(rings), bbox))  # fmt: skip
    if not areas:
        raise BoundaryError(f"{source}: no polygons")
    return areas


@lru_cache(maxsize=4)
def load(path: str | None = None) -> tuple[Area, ...]:
    """The areas of ``path`` (GeoJSON, optionally gzipped), or the shipped KZ districts."""
    try:
        if path is None:
            raw = resources.files("shekteu.geo").joinpath("data", DEFAULT).read_bytes()
            source = DEFAULT
        else:
            raw = Path(path).read_bytes()
            source = path
        data = parse_json(raw, source)
    except BoundaryError as exc:
        raise BoundaryError(f"cannot read boundaries: {exc}") from None
    except OSError as exc:
        raise BoundaryError(f"cannot read boundaries {path or DEFAULT}: {exc.strerror or exc}") from None
    return tuple(parse(data, source))


def locate(lat: float, lon: float, path: str | None = None) -> Area | None:
    return next((a for a in load(path) if a.contains(lat, lon)), None)


def locate_many(points: list[tuple[float, float]], path: str | None = None, chunk: int = 256) -> list[Area | None]:
    """``locate`` for each (lat, lon), the same answers with each area's rings tested against all the
    points in its box at once (a scene's thousand sites cost a second one by one)."""
    if not points:
        return []
    lat, lon = (np.array(v, float) for v in zip(*points, strict=True))
    found: list[Area | None] = [None] * len(points)
    open_ = np.ones(len(points), bool)  # not yet in an area (the first area that contains a point wins)
    for area in load(path):
        minx, miny, maxx, maxy = area.bbox
        candidates = np.flatnonzero(open_ & (minx <= lon) & (lon <= maxx) & (miny <= lat) & (lat <= maxy))
        for start in range(0, len(candidates), chunk):
            at = candidates[start : start + chunk]
            py, px = lat[at][None, :], lon[at][None, :]
            inside = np.zeros(len(at), bool)
            for x, y, x2, y2 in area._edges:
                x, y, x2, y2 = x[:, None], y[:, None], x2[:, None], y2[:, None]
                crosses = (y > py) != (y2 > py)
                with np.errstate(divide="ignore", invalid="ignore"):
                    cut = x + (py - y) * (x2 - x) / (y2 - y)
                inside ^= np.count_nonzero(crosses & (px < cut), axis=0) % 2 == 1
            for i in at[inside]:
                found[i] = area
            open_[at[inside]] = False
    return found


@lru_cache(maxsize=1)
def outlines(max_points: int = 40) -> dict[str, Any]:
    """The shipped districts as a light GeoJSON FeatureCollection for maps (rings thinned, ~100 m)."""
    features = []
    for area in load(None):
        rings = []
        for ring in area.rings:
            step = max(1, len(ring) // max_points)
            thin = np.round(ring[::step], 3).tolist()
            if len(thin) >= 3:
                rings.append([*thin, thin[0]])
        features.append({"type": "Feature", "properties": area.as_json(),
                         "geometry": {"type": "MultiPolygon", "coordinates": [[r] for r in rings]}})  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=1)
def places() -> dict[str, Any]:
    """The main settlements (oblast centres, the three cities, the Chu valley's towns) as GeoJSON points
    with their names in Russian, Kazakh and English, for map labels; rank 2 (towns) show zoomed in."""
    import json
    from importlib import resources

    rows = json.loads(resources.files("shekteu.geo").joinpath("data/places.json").read_text(encoding="utf-8"))
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"name": ru, "name_kk": kk, "name_en": en, "rank": rank}}
        for ru, kk, en, lat, lon, rank in rows]}  # fmt: skip
