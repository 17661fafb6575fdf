"""The two field jobs end to end: detect sites in rasters, and compare two passes.

``detect_sites`` opens and checks every raster before any work starts (a bad file fails at once, not
after an hour), scores each scene, traces sites and attributes districts. ``compare`` matches the sites
of two passes on an equal-area projection: a new site overlaps nothing old; an old one that overlaps
nothing new was eradicated (with rasters, its NDVI in the new pass says whether the vegetation
collapsed or was only missed) — unless the new rasters saw less than half of it, which makes it
``not_covered``; overlapping ones grew or shrank by more than a fifth of the part the new pass saw, or
held; an old site already eradicated (its ``change``) or destroyed (its registry ``status``) that is
green again is ``regrown``. Every change carries ``covered`` (the share of the old site under valid new
pixels) and the summary gives the changes per district as well as in all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shekteu.field import MIN_SITE_HECTARES, FieldError, need_extra
from shekteu.field.detect import Grid

CHANGE_RATIO = 0.2
NDVI_COLLAPSE = 0.15
GREEN_LEFT = 0.5
KINDS = ("new", "grown", "shrunk", "unchanged", "regrown", "eradicated", "not_covered")
COVERED_ENOUGH = 0.5  # less of an old site under valid new pixels than this: nothing is said of it
GONE = ("eradicated", "destroyed")  # an old site's change or registry status after which green is regrowth
# Scenes are worked on in sections of this many cells square (4096 aerial cells: 16,384 pixels, about
# 10 km; about 500 MB of grid and mask), each with a margin wider than the smoothing and closing.
SECTION_CELLS = 4096
SECTION_MARGIN = 8


@dataclass
class Detection:
    sites: list = field(default_factory=list)  # list[Site]
    grids: list[Grid] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # scenes mapped outside the districts

    def features(self) -> list[dict[str, Any]]:
        from shekteu.field.sites import feature

        return [feature(s) for s in self.sites]


def detect_sites(
    paths: list[str],
    *,
    boundaries: str | None = None,
    model_dir: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    min_hectares: float = MIN_SITE_HECTARES,
    on_progress: Callable[[str, int, int], None] | None = None,
    keep_grids: bool = False,
    section_cells: int = SECTION_CELLS,
    phenology: str = "wild",
) -> Detection:
    """Sites in the rasters. A scene is scored and traced section by section (``section_cells``
    square, with a margin for the smoothing and closing), so memory stays bounded however large the
    scene; sites cut by a section edge are joined again."""
    need_extra()
    from shekteu.field.detect import cell_shape, check_scene, score_scene, window_count
    from shekteu.field.imagery import open_scenes
    from shekteu.field.phenology import density_classes
    from shekteu.field.sites import assemble, footprint, grid_mask, pieces
    from shekteu.geo.boundaries import BoundaryError, load

    try:
        load(boundaries)
    except BoundaryError as exc:
        raise FieldError(str(exc)) from None
    scenes = open_scenes([str(p) for p in paths])
    out = Detection()
    out.warnings = [w for w in (footprint(scene, boundaries) for scene in scenes) if w]
    for scene in scenes:
        check_scene(scene, model_dir)
        _, rows, cols = cell_shape(scene)
        plan = sections(rows, cols, section_cells)
        total, done = sum(window_count(scene, region) for _, region in plan), 0
        parts, grid = [], None
        for section, region in plan:

            def report(
                d: int, _t: int, name: str = scene.name, before: int = done, total: int = total
            ) -> None:
                if on_progress:
                    on_progress(name, before + d, total)

            margin = score_scene(scene, model_dir=model_dir, scheduler=scheduler, workers=workers,
                                 region=region, on_progress=report, phenology=phenology)  # fmt: skip
            done += window_count(scene, region)
            grid = margin.crop(*section)
            r, c = section[0] - margin.row0, section[1] - margin.col0
            full = grid_mask(margin, model_dir, phenology)
            density = density_classes(full)[r : r + section[2], c : c + section[3]] if scene.kind == "sentinel2" else None
            mask = full[r : r + section[2], c : c + section[3]]
            del margin
            parts += pieces(grid, mask, (rows, cols), density)
            if keep_grids:
                out.grids.append(grid)
        if grid is not None:
            out.sites += assemble(grid, parts, min_hectares=min_hectares, boundaries=boundaries)
    out.sites.sort(key=lambda s: -s.hectares)
    return out


Cells = tuple[int, int, int, int]  # row, col, rows, cols in a scene's cell grid


def sections(rows: int, cols: int, size: int, margin: int = SECTION_MARGIN) -> list[tuple[Cells, Cells]]:
    """(section, section grown by ``margin`` on every side) covering a rows × cols cell grid."""
    out = []
    for r in range(0, rows, size):
        for c in range(0, cols, size):
            h, w = min(size, rows - r), min(size, cols - c)
            out.append(((r, c, h, w), (r - margin, c - margin, h + 2 * margin, w + 2 * margin)))
    return out


def read_sites(path: str) -> list[dict[str, Any]]:
    """Features of a GeoJSON site file (as written by ``field detect``), with hectares recomputed."""
    from shapely.geometry import shape

    from shekteu.field.sites import hectares_lonlat

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        features = data["features"]
        out = []
        for n, f in enumerate(features):
            geom = shape(f["geometry"])
            if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
                raise FieldError(f"{path}: feature {n} is a {geom.geom_type}, not a polygon")
            props = dict(f.get("properties") or {})
            props["hectares"] = round(hectares_lonlat(geom), 4)
            out.append(
                {"type": "Feature", "geometry": f["geometry"], "properties": props, "_shape": geom.buffer(0)}
            )
        return out
    except FieldError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FieldError(f"{path}: not a GeoJSON site file ({type(exc).__name__}: {exc})") from None


def _is_raster(path: str) -> bool:
    return Path(path).suffix.lower() in (".tif", ".tiff", ".jp2", ".vrt", ".img")


def _pass(paths: list[str], keep_grids: bool, **kw) -> tuple[list[dict[str, Any]], list[Grid]]:
    from shapely.geometry import shape

    if all(_is_raster(p) for p in paths):
        det = detect_sites(paths, keep_grids=keep_grids, **kw)
        feats = det.features()
        for f in feats:
            f["_shape"] = shape(f["geometry"])
        return feats, det.grids
    if len(paths) != 1 or _is_raster(paths[0]):
        raise FieldError("a pass is either one GeoJSON site file or raster file(s), not a mix")
    return read_sites(paths[0]), []


def _inside(grids: list[Grid], geometry) -> dict[str, float | None]:
    """Mean NDVI and green share of the new pass's cells under a lon/lat polygon (None: not covered),
    and ``covered``, the share of its cells the new pass saw (valid pixels; None without rasters)."""
    from pyproj import CRS, Transformer
    from rasterio.features import geometry_mask

    from shekteu.field.sites import WGS84, reproject

    for grid in grids:
        to_grid = Transformer.from_crs(WGS84, CRS.from_wkt(grid.scene.crs_wkt), always_xy=True)
        local = reproject(to_grid, geometry)
        inside = ~geometry_mask(
            [local], out_shape=grid.ndvi.shape, transform=grid.transform, all_touched=True
        )
        inside &= grid.usable
        if inside.any():
            cell = abs(grid.transform.a * grid.transform.e)  # seen cells over the site's whole area (in or off the grid)
            seen = min(1.0, int(inside.sum()) * cell / local.area) if local.area > 0 else 1.0
            return {"ndvi": float(grid.ndvi[inside].mean()), "green": float(grid.green[inside].mean()),
                    "covered": round(seen, 3)}  # fmt: skip
    return {"ndvi": None, "green": None, "covered": 0.0 if grids else None}


def compare(old: list[str], new: list[str], **kw) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The change layer (features with a ``change`` property) and its summary."""
    need_extra()
    from shapely.geometry import mapping
    from shapely.ops import unary_union
    from shapely.strtree import STRtree

    before, _ = _pass(old, False, **kw)
    after, grids = _pass(new, True, **kw)  # the new pass's NDVI is measured under vanished sites
    tree = STRtree([f["_shape"] for f in before]) if before else None
    matched: dict[int, list[int]] = {}
    layer = []
    for j, f in enumerate(after):
        hits = [int(i) for i in tree.query(f["_shape"], predicate="intersects")] if tree is not None else []
        for i in hits:
            matched.setdefault(i, []).append(j)
        if not hits:
            layer.append(_change(f, "new", 0.0, f["properties"]["hectares"]))
    for i, f in enumerate(before):
        old_ha = f["properties"]["hectares"]
        seen = _inside(grids, f["_shape"])  # how much of the old site the new pass saw, and how green
        covered = seen["covered"]
        if i in matched:
            hits = [after[j] for j in matched[i]]
            new_ha = sum(h["properties"]["hectares"] for h in hits)
            now = {"ndvi": _weighted(hits, "ndvi"), "green": _weighted(hits, "green")}
            if _collapsed(f["properties"], now):  # the plot is still there, the plants are not
                layer.append(_eradicated(f, now["ndvi"], "ndvi-collapse", covered))
                continue
            # Sized against the part of the old site the new pass saw: half a site off the image is
            # not a site that shrank by half.
            seen_ha = old_ha * (covered if covered else 1.0)
            ratio = new_ha / seen_ha if seen_ha else 1.0
            kind = (
                "grown" if ratio > 1 + CHANGE_RATIO else "shrunk" if ratio < 1 - CHANGE_RATIO else "unchanged"
            )
            if f["properties"].get("change") in GONE or f["properties"].get("status") in GONE:
                kind = "regrown"  # green again where the last pass or the registry had it destroyed
            shapes = [h["_shape"] for h in hits]
            geometry = mapping(unary_union(shapes)) if len(shapes) > 1 else hits[0]["geometry"]
            entry = _change({**hits[0], "geometry": geometry}, kind, old_ha, new_ha, covered)
            entry["properties"]["kato"] = f["properties"].get("kato") or entry["properties"].get("kato")
            layer.append(entry)
            continue
        if f["properties"].get("change") in GONE or f["properties"].get("status") in GONE:
            continue  # destroyed before and still gone: nothing changed
        if covered is not None and covered < COVERED_ENOUGH:
            # The new imagery saw too little of the site: nothing can be said of it.
            entry = _change(f, "not_covered", old_ha, old_ha, covered)
            entry["properties"]["hectares_new"] = None
            layer.append(entry)
            continue
        evidence = "ndvi-collapse" if _collapsed(f["properties"], seen) else "not-detected"
        layer.append(_eradicated(f, seen["ndvi"], evidence, covered))
    summary = {
        "old": {"sites": len(before), "hectares": round(sum(f["properties"]["hectares"] for f in before), 3)},
        "new": {"sites": len(after), "hectares": round(sum(f["properties"]["hectares"] for f in after), 3)},
        "changes": _totals(layer),
        "by_district": _by_district(layer),
    }
    return layer, summary


def _counted_hectares(p: dict[str, Any]) -> float:
    return p["hectares_old"] if p["change"] in ("eradicated", "not_covered") else p["hectares_new"]


def _totals(layer: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    totals = {k: {"sites": 0, "hectares": 0.0} for k in KINDS}
    for f in layer:
        p = f["properties"]
        totals[p["change"]]["sites"] += 1
        totals[p["change"]]["hectares"] += _counted_hectares(p)
    for t in totals.values():
        t["hectares"] = round(t["hectares"], 3)
    return totals


def _by_district(layer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per district (KATO): the changes, as ``changes`` gives them for the whole pass."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for f in layer:
        p = f["properties"]
        groups.setdefault((p.get("kato"), p.get("district")), []).append(f)
    rows = [{"kato": kato, "name": name, "changes": _totals(part)} for (kato, name), part in groups.items()]
    return sorted(rows, key=lambda r: (r["kato"] is None, r["kato"] or ""))


def _weighted(features: list[dict[str, Any]], key: str) -> float | None:
    pairs = [(f["properties"].get(key), f["properties"]["hectares"]) for f in features]
    pairs = [(n, h) for n, h in pairs if isinstance(n, int | float)]
    total = sum(h for _, h in pairs)
    return sum(n * h for n, h in pairs) / total if pairs and total > 0 else None


def _collapsed(then: dict[str, Any], now: dict[str, float | None]) -> bool:
    """NDVI fell by NDVI_COLLAPSE, or the green share fell below GREEN_LEFT of what it was."""
    ndvi_then, green_then = then.get("ndvi"), then.get("green")
    if (
        now["ndvi"] is not None
        and isinstance(ndvi_then, int | float)
        and ndvi_then - now["ndvi"] >= NDVI_COLLAPSE
    ):
        return True
    return (
        now["green"] is not None
        and isinstance(green_then, int | float)
        and green_then >= 0.02
        and now["green"] < GREEN_LEFT * green_then
    )


def _eradicated(f: dict[str, Any], ndvi_now: float | None, evidence: str, covered: float | None) -> dict[str, Any]:
    entry = _change(f, "eradicated", f["properties"]["hectares"], 0.0, covered)
    entry["properties"]["ndvi_new"] = None if ndvi_now is None else round(ndvi_now, 3)
    entry["properties"]["evidence"] = evidence
    return entry


def _change(
    f: dict[str, Any], kind: str, old_ha: float, new_ha: float, covered: float | None = None
) -> dict[str, Any]:
    """A change feature; ``covered`` is the share of the old site the new pass saw (None: the new pass
    is a site file, or the site is new)."""
    props = {k: v for k, v in f["properties"].items() if k not in ("hectares", "change")}
    props.update(change=kind, hectares_old=round(old_ha, 4), hectares_new=round(new_ha, 4),
                 hectares=round(new_ha if kind != "eradicated" else old_ha, 4), covered=covered)  # fmt: skip
    return {"type": "Feature", "geometry": f["geometry"], "properties": props}
