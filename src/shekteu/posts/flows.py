"""What leaves the hemp zone and by which roads: sources, destinations, and plausible routes between.

Sources are field sites (the registry or a file) weighted by hectares; destinations are settlements
weighted by population, the places where roads leave the mapped region (the ends of clipped roads at
its edge) and border crossings. Each source's produce is split between settlements and the ways out
(``outlet_share``), and within each by a gravity rule — weight over travel time — the usual first
model of where goods go when nothing better is known.

Couriers avoid the obvious road when it is watched, so each pair gets up to ``routes`` plausible
routes: the fastest, then the fastest after penalising the roads already used (the link-penalty method
of route-choice modelling), kept while no more than ``stretch`` times slower than the fastest. Flow is
split over them by a logit of their relative time. One Dijkstra per source and round (SciPy's C
implementation) keeps this fast on a regional network; the penalty is per source rather than per pair,
which is what makes that possible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.posts import PostsError
from shekteu.posts.roads import Roads

PLACE_POPULATION = {"city": 100_000, "town": 15_000, "village": 1_500, "hamlet": 150, "isolated_dwelling": 15,
                    "suburb": 5_000, "locality": 50}  # fmt: skip
OUTLETS = ("exit", "border")


@dataclass
class Place:
    lon: float
    lat: float
    weight: float
    name: str = ""
    kind: str = "source"  # source, settlement, exit, border
    node: int = -1
    access_m: float = 0.0


@dataclass
class Route:
    pair: int
    edges: np.ndarray
    time_s: float
    flow: float


@dataclass
class Flows:
    sources: list[Place]
    destinations: list[Place]
    pairs: list[tuple[int, int, float]]  # source index, destination index, flow
    routes: list[Route]
    total: float
    unrouted: float = 0.0
    problems: list[str] = field(default_factory=list)


def _number(value: Any) -> float | None:
    try:
        x = float(str(value).replace(" ", "").replace(",", "."))
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x >= 0 else None


def read_places(path: Path, *, kind: str) -> list[Place]:
    """Points or polygons from a GeoJSON/GeoPackage/shapefile (or a CSV with lat/lon columns); weight
    from ``weight``, ``hectares``,
    ``population`` (or the OSM ``place`` class), a polygon's own area, or 1."""
    import pyogrio
    import pyogrio.raw
    import shapely

    path = Path(path)
    if not path.is_file():
        raise PostsError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".csv":  # a table with lat/lon columns
            meta, _f, wkb, values = pyogrio.raw.read(str(path), max_features=1_000_001, KEEP_GEOM_COLUMNS="NO",
                                                     X_POSSIBLE_NAMES="lon,longitude,lng,x",
                                                     Y_POSSIBLE_NAMES="lat,latitude,y")  # fmt: skip
        else:
            layers = [(str(n), str(kind or "").lower()) for n, kind in pyogrio.list_layers(str(path))]
            points = [n for n, kind in layers if "point" in kind] or [n for n, kind in layers if "polygon" in kind]
            meta, _f, wkb, values = pyogrio.raw.read(str(path), layer=(points or [layers[0][0]])[0],
                                                     max_features=1_000_001)  # fmt: skip
    except Exception as exc:  # GDAL's reason, one line
        raise PostsError(f"{path}: not a readable points file ({str(exc).splitlines()[0][:200]})") from None
    if wkb is None:
        raise PostsError(f"{path}: no geometry in it (a CSV needs lat and lon columns)")
    if len(wkb) > 1_000_000:
        raise PostsError(f"{path}: more than a million features")
    crs = str(meta.get("crs") or "")
    geoms = shapely.from_wkb(wkb)
    if crs and "4326" not in crs and "CRS84" not in crs.upper():
        from pyproj import Transformer

        t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))
    cols = {str(n).lower(): v for n, v in zip(meta["fields"], values, strict=True)}
    places = []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        p = {k: v[i] for k, v in cols.items()}
        pt = g if g.geom_type == "Point" else g.representative_point()
        weight = next((w for k in ("weight", "hectares", "population") if (w := _number(p.get(k))) is not None), None)
        if weight is None and p.get("place") in PLACE_POPULATION:
            weight = float(PLACE_POPULATION[str(p["place"])])
        if weight is None and g.geom_type.endswith("Polygon"):
            weight = _hectares(g)
        what = str(p.get("kind") or "").lower()
        place_kind = what if kind != "source" and what in ("settlement", *OUTLETS) else kind
        name = next((str(p[k]) for k in ("name", "name:ru", "name_ru", "id") if p.get(k) not in (None, "")), "")
        places.append(Place(float(pt.x), float(pt.y), 1.0 if weight is None else weight, name, place_kind))
    if not places:
        raise PostsError(f"{path}: no points or areas in it")
    if not all(-180 <= p.lon <= 180 and -90 <= p.lat <= 90 for p in places):
        raise PostsError(f"{path}: coordinates are not longitude/latitude (and the file names no CRS)")
    return places


def _hectares(g: Any) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(g)[0]) / 10_000


def sources_from_registry(session: Any) -> list[Place]:
    """Field sites still growing (suspected or confirmed), weighted by their hectares."""
    from sqlalchemy import select

    from shekteu.db.tables import FieldSite

    rows = session.scalars(select(FieldSite).where(FieldSite.status.in_(("suspected", "confirmed"))))
    return [Place(r.lon, r.lat, float(r.hectares or 0) or 0.01, f"site {r.id}", "source") for r in rows]


def outlets(roads: Roads, *, margin_m: float = 5_000.0) -> list[Place]:
    """Ways out: road ends at the edge of the mapped area (where the extract was cut) and crossings."""
    deg = roads.degree()
    lo, hi = roads.node_xy.min(axis=0), roads.node_xy.max(axis=0)
    found = []
    for n in np.flatnonzero(deg == 1).tolist():
        x, y = roads.node_xy[n]
        if min(x - lo[0], hi[0] - x, y - lo[1], hi[1] - y) <= margin_m:
            lon, lat = roads.node_lonlat[n]
            found.append(Place(float(lon), float(lat), 1.0, f"exit {lat:.3f}N {lon:.3f}E", "exit", n))
    for n in roads.crossings:
        lon, lat = roads.node_lonlat[n]
        found.append(Place(float(lon), float(lat), 1.0, f"border {lat:.3f}N {lon:.3f}E", "border", n))
    return found


def attach(roads: Roads, places: list[Place], *, max_access_m: float) -> list[str]:
    """Each place's nearest road node; places farther than ``max_access_m`` get node -1 and a note."""
    from scipy.spatial import cKDTree

    if not places:
        return []
    todo = [p for p in places if p.node < 0]
    if not todo:
        return []
    xy = roads.to_xy(np.array([p.lon for p in todo]), np.array([p.lat for p in todo]))
    dist, near = cKDTree(roads.node_xy).query(xy)
    notes = []
    for p, d, n in zip(todo, dist.tolist(), near.tolist(), strict=True):
        p.access_m = d
        if d <= max_access_m:
            p.node = int(n)
        else:
            notes.append(f"{p.kind} {p.name or f'{p.lat:.4f},{p.lon:.4f}'} is {d / 1000:.0f} km from the nearest road")
    return notes


def route(
    roads: Roads,
    sources: list[Place],
    destinations: list[Place],
    *,
    routes: int = 3,
    stretch: float = 1.5,
    penalty: float = 0.6,
    outlet_share: float = 0.5,
    gamma: float = 1.0,
    theta: float = 4.0,
    min_trip_m: float = 10_000.0,
    max_access_m: float = 30_000.0,
    progress: Any = None,
) -> Flows:
    """Pairs and routes with their flows; PostsError when nothing can be routed at all."""
    from scipy.sparse.csgraph import dijkstra

    if not sources:
        raise PostsError("no sources: give field sites (--sources FILE or the registry)")
    if not destinations:
        raise PostsError("no destinations: give --destinations, or roads that leave the mapped area")
    problems = attach(roads, sources, max_access_m=max_access_m) + attach(roads, destinations, max_access_m=max_access_m)
    destinations = _one_per_node(destinations)
    base, arc_edge = roads.arcs(roads.time_s)
    n = len(roads.node_xy)
    dest_nodes = np.array([d.node for d in destinations])
    pairs: list[tuple[int, int, float]] = []
    out: list[Route] = []
    unrouted = 0.0
    live = [i for i, s in enumerate(sources) if s.node >= 0]
    unrouted += sum(s.weight for i, s in enumerate(sources) if s.node < 0)
    first_nodes = sorted({sources[i].node for i in live})
    if not first_nodes:
        raise PostsError("no source is within reach of a road: " + "; ".join(problems[:3]))
    times, preds = dijkstra(base, directed=True, indices=first_nodes, return_predecessors=True)
    row_of = {node: r for r, node in enumerate(first_nodes)}
    for done, i in enumerate(live):
        src = sources[i]
        t = times[row_of[src.node]]
        pred = preds[row_of[src.node]]
        reach = [j for j, d in enumerate(destinations) if d.node >= 0 and np.isfinite(t[d.node])
                 and np.hypot(*(roads.node_xy[d.node] - roads.node_xy[src.node])) >= min_trip_m]  # fmt: skip
        if not reach:
            unrouted += src.weight
            problems.append(f"source {src.name or f'{src.lat:.4f},{src.lon:.4f}'} has no road to any destination")
            continue
        shares = _destination_shares(src, [destinations[j] for j in reach], t[dest_nodes[reach]], outlet_share, gamma)
        found: dict[int, list[tuple[float, frozenset[int], np.ndarray]]] = {}
        for j in reach:
            edges = _path_edges(pred, src.node, destinations[j].node, n, arc_edge)
            found[j] = [(float(t[destinations[j].node]), frozenset(edges.tolist()), edges)]
        used = np.zeros(roads.edges)
        for _ in range(routes - 1):
            for j in reach:
                used[found[j][-1][2]] += 1
            weight = roads.time_s * (1 + penalty * used)
            matrix, arc2 = roads.arcs(weight)  # its own arcs: between two nodes the cheapest edge may change
            _d, p2 = dijkstra(matrix, directed=True, indices=src.node, return_predecessors=True)
            for j in reach:
                edges = _path_edges(p2, src.node, destinations[j].node, n, arc2)
                key = frozenset(edges.tolist())
                true_time = float(roads.time_s[edges].sum())
                if all(key != k for _t, k, _e in found[j]) and true_time <= stretch * found[j][0][0]:
                    found[j].append((true_time, key, edges))
        for j, share in zip(reach, shares, strict=True):
            flow = src.weight * share
            pair = len(pairs)
            pairs.append((i, j, flow))
            best = found[j][0][0]
            logits = np.array([-theta * (tt / max(best, 1e-9) - 1) for tt, _k, _e in found[j]])
            split = np.exp(logits - logits.max())
            split /= split.sum()
            for (tt, _k, edges), sh in zip(found[j], split.tolist(), strict=True):
                out.append(Route(pair, edges, tt, flow * sh))
        if progress:
            progress(done + 1, len(live))
    if not out:
        raise PostsError("no source has a road to any destination (the network is disconnected between them): "
                         + "; ".join(problems[:3]))  # fmt: skip
    total = float(sum(r.flow for r in out))
    return Flows(sources, destinations, pairs, out, total, unrouted, problems)


def _one_per_node(places: list[Place]) -> list[Place]:
    """A way out given twice (in the file and found at the edge of the roads) counts once."""
    seen: dict[tuple[int, bool], Place] = {}
    out = []
    for p in places:
        key = (p.node, p.kind in OUTLETS)
        if p.node >= 0 and key in seen:
            seen[key].weight = max(seen[key].weight, p.weight)
            continue
        seen[key] = p
        out.append(p)
    return out


def _destination_shares(src: Place, dests: list[Place], times: np.ndarray, outlet_share: float, gamma: float) -> list[float]:
    attract = np.array([d.weight for d in dests]) / np.maximum(times / 3600.0, 0.1) ** gamma
    is_out = np.array([d.kind in OUTLETS for d in dests])
    shares = np.zeros(len(dests))
    groups = [(is_out, outlet_share), (~is_out, 1 - outlet_share)]
    present = [(mask, s) for mask, s in groups if mask.any() and attract[mask].sum() > 0]
    norm = sum(s for _m, s in present) or 1.0
    for mask, s in present:
        shares[mask] = (s / norm) * attract[mask] / attract[mask].sum()
    return shares.tolist()


def _path_edges(pred: np.ndarray, src: int, dst: int, n: int, arc_edge: dict[int, int]) -> np.ndarray:
    edges = []
    cur = dst
    while cur != src:
        prev = int(pred[cur])
        if prev < 0:
            return np.array([], int)
        edges.append(arc_edge[prev * n + cur])
        cur = prev
    return np.array(edges[::-1], int)


def boost(roads: Roads, flows: Flows, evidence: list[Place], *, radius_m: float = 5_000.0) -> int:
    """Learning from results: a route that passes within ``radius_m`` of seizures or tips carries more.

    Each route's flow is multiplied by (1 + the weight of the evidence points it passes); the number of
    evidence points that touched any route is returned. Simple on purpose: the next plan leans towards
    the corridors where couriers were actually caught or reported."""
    import shapely

    if not evidence:
        return 0
    xy = roads.to_xy(np.array([p.lon for p in evidence]), np.array([p.lat for p in evidence]))
    lines = shapely.linestrings(np.vstack([roads.to_xy(g[:, 0], g[:, 1]) for g in roads.geometry]),
                                indices=np.repeat(np.arange(roads.edges), [len(g) for g in roads.geometry]))  # fmt: skip
    tree = shapely.STRtree(lines)
    pi, ei = tree.query(shapely.points(xy), predicate="dwithin", distance=radius_m)
    near: dict[int, set[int]] = {}
    for p, e in zip(pi.tolist(), ei.tolist(), strict=True):
        near.setdefault(e, set()).add(p)
    touched: set[int] = set()
    for r in flows.routes:
        hits: set[int] = set()
        for e in r.edges.tolist():
            hits |= near.get(e, set())
        if hits:
            r.flow *= 1 + sum(evidence[h].weight for h in hits)
            touched |= hits
    flows.total = float(sum(r.flow for r in flows.routes))
    return len(touched)
