"""Grid → sites: polygons above a minimum area with hectares, NDVI, confidence, date and district.

Polygons are traced with rasterio.features.shapes on labelled cell components, so every polygon
knows its component and its mean NDVI and probability. Hectares are computed on the unsimplified
polygon after projecting to an equal-area CRS (EPSG:6933, WGS 84 cylindrical equal-area), never from
degrees or a UTM zone's distorted area; the stored geometry is WGS 84 lon/lat, lightly simplified.
District and oblast (with KATO code) come from the shipped KZ boundaries or a given file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shekteu.field import FieldError
from shekteu.field.detect import Grid
from shekteu.field.imagery import Scene

EQUAL_AREA = "EPSG:6933"
WGS84 = "EPSG:4326"


@dataclass
class Site:
    geometry: Any  # shapely geometry, lon/lat
    hectares: float
    ndvi: float
    green: float  # share of green pixels: what an eradication takes away
    confidence: float
    date: str | None
    source: str
    method: str
    kato: str | None = None
    district: str | None = None
    oblast: str | None = None

    def properties(self) -> dict[str, Any]:
        fields = (
            "hectares",
            "ndvi",
            "green",
            "confidence",
            "date",
            "kato",
            "district",
            "oblast",
            "source",
            "method",
        )
        return {name: getattr(self, name) for name in fields}


def transformers(crs_wkt: str):
    from pyproj import CRS, Transformer

    crs = CRS.from_wkt(crs_wkt)
    return (
        Transformer.from_crs(crs, EQUAL_AREA, always_xy=True),
        Transformer.from_crs(crs, WGS84, always_xy=True),
    )


def grid_mask(grid: Grid, model_dir: str | None = None) -> np.ndarray:
    from shekteu.field.model import grow_mask, load

    if grid.method == "aerial-model":
        return load(model_dir).mask(grid.probability, grid.usable)
    from shekteu.field.seasonality import THRESHOLD

    return grow_mask(grid.probability, grid.usable, THRESHOLD, 1)


def trace(grid: Grid, mask: np.ndarray, *, min_hectares: float, boundaries: str | None = None) -> list[Site]:
    """Sites for the true cells of ``mask``."""
    from rasterio.features import shapes
    from scipy import ndimage
    from shapely.geometry import shape
    from shapely.ops import transform as reproject
    from shapely.ops import unary_union

    from shekteu.geo.boundaries import locate

    labels, n = ndimage.label(mask)
    if n == 0:
        return []
    index = np.arange(1, n + 1)
    ndvi = ndimage.mean(grid.ndvi, labels, index)
    confidence = ndimage.mean(grid.probability, labels, index)
    green = ndimage.mean(grid.green, labels, index)
    to_area, to_lonlat = transformers(grid.scene.crs_wkt)
    cell = abs(grid.transform.a)
    parts: dict[int, list] = {}
    for geom, value in shapes(labels.astype(np.int32), mask=mask, transform=grid.transform, connectivity=8):
        parts.setdefault(int(value), []).append(shape(geom))
    sites = []
    for value, polys in parts.items():
        poly = unary_union(polys) if len(polys) > 1 else polys[0]
        hectares = reproject(to_area.transform, poly).area / 10_000
        if hectares < min_hectares:
            continue
        lonlat = reproject(to_lonlat.transform, poly.simplify(cell * 0.5, preserve_topology=True))
        point = lonlat.representative_point()
        area = locate(point.y, point.x, boundaries)
        sites.append(
            Site(
                lonlat,
                round(hectares, 4),
                round(float(ndvi[value - 1]), 3),
                round(float(green[value - 1]), 3),
                round(float(confidence[value - 1]), 3),
                grid.when.isoformat() if grid.when else None,
                grid.scene.name,
                grid.method,
                area.kato if area else None,
                area.name_ru if area else None,
                area.oblast_ru if area else None,
            )
        )
    sites.sort(key=lambda s: -s.hectares)
    return sites


def footprint(scene: Scene, boundaries: str | None) -> None:
    """Raise when the scene lies outside every area of the boundaries file."""
    from shapely.geometry import Polygon, box
    from shapely.ops import transform as reproject

    from shekteu.geo.boundaries import load

    a = scene.transform
    x0, y0 = a[2], a[5]
    x1, y1 = x0 + a[0] * scene.width, y0 + a[4] * scene.height
    _, to_lonlat = transformers(scene.crs_wkt)
    extent = reproject(
        to_lonlat.transform,
        box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).segmentize(abs(x1 - x0) / 8 or 1),
    )
    minx, miny, maxx, maxy = extent.bounds
    for area in load(boundaries):
        bx0, by0, bx1, by1 = area.bbox
        if bx0 <= maxx and minx <= bx1 and by0 <= maxy and miny <= by1:
            if any(Polygon(ring).buffer(0).intersects(extent) for ring in area.rings):
                return
    where = boundaries or "the shipped Kazakhstan districts"
    raise FieldError(
        f"{scene.name}: lies outside every area of {where} (raster extent {minx:.4f},{miny:.4f} – {maxx:.4f},{maxy:.4f} lon/lat)"
    )


def summary(sites: list[Site]) -> dict[str, Any]:
    """The ``field detect --json`` line: counts and hectares, overall and per district."""
    by: dict[tuple, dict[str, Any]] = {}
    for s in sites:
        row = by.setdefault(
            (s.kato, s.district), {"kato": s.kato, "name": s.district, "hectares": 0.0, "sites": 0}
        )
        row["hectares"] += s.hectares
        row["sites"] += 1
    rows = sorted(by.values(), key=lambda r: -r["hectares"])
    for row in rows:
        row["hectares"] = round(row["hectares"], 3)
    return {"sites": len(sites), "hectares": round(sum(s.hectares for s in sites), 3), "by_district": rows}


def feature(site: Site) -> dict[str, Any]:
    from shapely.geometry import mapping

    return {"type": "Feature", "geometry": mapping(site.geometry), "properties": site.properties()}


def hectares_lonlat(geometry) -> float:
    """Area in hectares of a lon/lat geometry, on the equal-area projection."""
    from pyproj import Transformer
    from shapely.ops import transform as reproject

    to_area = Transformer.from_crs(WGS84, EQUAL_AREA, always_xy=True)
    return reproject(to_area.transform, geometry).area / 10_000
