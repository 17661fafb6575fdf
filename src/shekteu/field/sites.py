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

from shekteu.field.detect import Grid
from shekteu.field.imagery import Scene
from shekteu.field.phenology import DENSITY

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
    density: dict[str, float] | None = None  # Sentinel-2: hectares per density class (phenology.DENSITY)

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
        out = {name: getattr(self, name) for name in fields}
        for name, hectares in (self.density or {}).items():
            out[f"hectares_{name}"] = hectares
        return out


def transformers(crs_wkt: str):
    from pyproj import CRS, Transformer

    crs = CRS.from_wkt(crs_wkt)
    return (
        Transformer.from_crs(crs, EQUAL_AREA, always_xy=True),
        Transformer.from_crs(crs, WGS84, always_xy=True),
    )


def grid_mask(grid: Grid, model_dir: str | None = None, phenology: str = "wild") -> np.ndarray:
    from shekteu.field.model import grow_mask, load

    if grid.method == "aerial-model":
        return load(model_dir).mask(grid.probability, grid.usable)
    if grid.method == "sentinel2-phenology":
        from shekteu.field.seasonality import THRESHOLD

        return grow_mask(grid.probability, grid.usable, THRESHOLD, 1)
    from shekteu.field import phenology as plantation

    threshold = plantation.load(None if phenology in ("wild", "cultivated") else phenology).threshold
    return grow_mask(grid.probability, grid.usable, threshold, 1)


@dataclass
class Piece:
    """A traced component in the scene's CRS with the sums its attributes are averaged from. A piece
    that touches the edge of a section (not of the scene) is ``open``: its site may go on in the next
    section, and pieces are joined before sites are made (see ``assemble``)."""

    polygon: Any
    cells: int
    ndvi: float  # sums over the cells
    probability: float
    green: float
    open: bool
    density: tuple[int, ...] | None = None  # cells per density class (dense, sparse, isolated)


def pieces(
    grid: Grid, mask: np.ndarray, scene_cells: tuple[int, int] | None = None, density: np.ndarray | None = None
) -> list[Piece]:
    """Components of ``mask`` (over ``grid``) as pieces; ``scene_cells`` (rows, cols) marks those
    touching a section edge inside the scene as open (none when the grid is the whole scene);
    ``density`` (classes per cell, ``phenology.density_classes``) is counted per piece."""
    from rasterio.features import shapes
    from scipy import ndimage
    from shapely.geometry import shape
    from shapely.ops import unary_union

    labels, n = ndimage.label(mask)
    if n == 0:
        return []
    at = np.flatnonzero(labels)  # sums over the labelled cells only: a few in a hundred of a scene
    flat = labels.ravel()[at]
    cells = np.bincount(flat, minlength=n + 1)[1:]  # per label; ndimage.sum is 20× slower here
    sums = [np.bincount(flat, a.ravel()[at], n + 1)[1:] for a in (grid.ndvi, grid.probability, grid.green)]
    classes = None
    if density is not None:
        kinds = density.ravel()[at]
        classes = [np.bincount(flat, (kinds == c).astype(np.float64), n + 1)[1:] for c in (1, 2, 3)]
    rows, cols = mask.shape
    total_rows, total_cols = scene_cells or (grid.row0 + rows, grid.col0 + cols)
    edges = (grid.row0 > 0, grid.col0 > 0, grid.row0 + rows < total_rows, grid.col0 + cols < total_cols)
    parts: dict[int, list] = {}
    for geom, value in shapes(labels, mask=mask, transform=grid.transform, connectivity=8):
        parts.setdefault(int(value), []).append(shape(geom))
    out = []
    for value, where in enumerate(ndimage.find_objects(labels), 1):
        touches = (where[0].start == 0, where[1].start == 0, where[0].stop == rows, where[1].stop == cols)
        polys = parts[value]
        out.append(
            Piece(
                unary_union(polys) if len(polys) > 1 else polys[0],
                int(cells[value - 1]),
                *(float(a[value - 1]) for a in sums),
                open=any(t and e for t, e in zip(touches, edges, strict=True)),
                density=None if classes is None else tuple(int(c[value - 1]) for c in classes),
            )
        )
    return out


def join_open(parts: list[Piece]) -> list[Piece]:
    """Pieces with the open ones that share an edge joined into one (sums added)."""
    from shapely import STRtree
    from shapely.ops import unary_union

    closed, opened = [p for p in parts if not p.open], [p for p in parts if p.open]
    if not opened:
        return closed
    merged = unary_union([p.polygon for p in opened])
    points = STRtree([p.polygon.representative_point() for p in opened])
    for geom in getattr(merged, "geoms", [merged]):
        members = [opened[i] for i in points.query(geom, predicate="contains")]
        if members:
            density = None
            if all(m.density is not None for m in members):
                density = tuple(int(sum(v)) for v in zip(*(m.density for m in members), strict=True))
            closed.append(Piece(geom, sum(m.cells for m in members), sum(m.ndvi for m in members),
                                sum(m.probability for m in members), sum(m.green for m in members), False,
                                density))  # fmt: skip
    return closed


def assemble(
    grid: Grid, parts: list[Piece], *, min_hectares: float, boundaries: str | None = None
) -> list[Site]:
    """Sites from the pieces of one scene (``grid`` is any grid of it): open pieces joined, hectares on
    the equal-area projection, small ones dropped, district looked up."""
    from shekteu.geo.boundaries import locate_many

    to_area, to_lonlat = transformers(grid.scene.crs_wkt)
    cell = abs(grid.transform.a)
    kept = []
    for piece in join_open(parts):
        hectares = reproject(to_area, piece.polygon).area / 10_000
        if hectares >= min_hectares:
            kept.append((piece, hectares, reproject(to_lonlat, piece.polygon.simplify(cell * 0.5, preserve_topology=True))))
    points = [lonlat.representative_point() for _, _, lonlat in kept]
    sites = []
    for (piece, hectares, lonlat), area in zip(kept, locate_many([(p.y, p.x) for p in points], boundaries), strict=True):
        n = max(piece.cells, 1)
        density = None
        if piece.density is not None:  # the site's hectares shared out by its cells' classes
            density = {name: round(hectares * c / n, 4) for (name, _), c in zip(DENSITY, piece.density, strict=True)}
        sites.append(
            Site(
                lonlat,
                round(hectares, 4),
                round(piece.ndvi / n, 3),
                round(piece.green / n, 3),
                round(piece.probability / n, 3),
                grid.when.isoformat() if grid.when else None,
                grid.scene.name,
                grid.method,
                area.kato if area else None,
                area.name_ru if area else None,
                area.oblast_ru if area else None,
                density,
            )
        )
    sites.sort(key=lambda s: -s.hectares)
    return sites


def reproject(transformer: Any, geometry: Any) -> Any:
    """The geometry with all its coordinates projected in one call (``shapely.ops.transform`` calls
    PROJ once per ring with Python in between: most of the tracing time on a large scene)."""
    import shapely

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, project)


def trace(grid: Grid, mask: np.ndarray, *, min_hectares: float, boundaries: str | None = None) -> list[Site]:
    """Sites for the true cells of ``mask`` over a whole-scene ``grid``."""
    return assemble(grid, pieces(grid, mask), min_hectares=min_hectares, boundaries=boundaries)


def footprint(scene: Scene, boundaries: str | None) -> str | None:
    """A warning when the scene lies outside every area of the boundaries file (None inside).

    Such a scene is still mapped, its sites with no district: the Shu valley runs on into Kyrgyzstan's
    Chuy region, and joint work across that border maps land the shipped districts do not cover."""
    from shapely.geometry import Polygon, box

    from shekteu.geo.boundaries import load

    a = scene.transform
    x0, y0 = a[2], a[5]
    x1, y1 = x0 + a[0] * scene.width, y0 + a[4] * scene.height
    _, to_lonlat = transformers(scene.crs_wkt)
    extent = reproject(
        to_lonlat,
        box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).segmentize(abs(x1 - x0) / 8 or 1),
    )
    minx, miny, maxx, maxy = extent.bounds
    for area in load(boundaries):
        bx0, by0, bx1, by1 = area.bbox
        if bx0 <= maxx and minx <= bx1 and by0 <= maxy and miny <= by1:
            if any(Polygon(ring).buffer(0).intersects(extent) for ring in area.rings):
                return None
    where = boundaries or "the shipped Kazakhstan districts"
    return (f"{scene.name}: lies outside every area of {where} (raster extent {minx:.4f},{miny:.4f} – "
            f"{maxx:.4f},{maxy:.4f} lon/lat); its sites have no district")  # fmt: skip


def summary(sites: list[Site]) -> dict[str, Any]:
    """The ``field detect --json`` line: counts and hectares, overall and per district."""
    by: dict[tuple, dict[str, Any]] = {}
    for s in sites:
        row = by.setdefault(
            (s.kato, s.district), {"kato": s.kato, "name": s.district, "hectares": 0.0, "sites": 0}
        )
        row["hectares"] += s.hectares
        row["sites"] += 1
        for name, hectares in (s.density or {}).items():  # Sentinel-2 stands: hectares per density class
            classes = row.setdefault("by_density", {n: 0.0 for n, _ in DENSITY})
            classes[name] += hectares
    rows = sorted(by.values(), key=lambda r: -r["hectares"])
    for row in rows:
        row["hectares"] = round(row["hectares"], 3)
        for name in row.get("by_density", {}):
            row["by_density"][name] = round(row["by_density"][name], 3)
    return {"sites": len(sites), "hectares": round(sum(s.hectares for s in sites), 3), "by_district": rows}


def feature(site: Site) -> dict[str, Any]:
    from shapely.geometry import mapping

    return {"type": "Feature", "geometry": mapping(site.geometry), "properties": site.properties()}


def hectares_lonlat(geometry) -> float:
    """Area in hectares of a lon/lat geometry, on the equal-area projection."""
    from pyproj import Transformer

    to_area = Transformer.from_crs(WGS84, EQUAL_AREA, always_xy=True)
    return reproject(to_area, geometry).area / 10_000
