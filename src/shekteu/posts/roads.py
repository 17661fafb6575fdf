"""A routable road graph from the OpenStreetMap data a user has: ``.osm.pbf``, GeoPackage, GeoJSON or
a shapefile.

Real extracts are not ready to route on. Regional exports are clipped, simplified and stitched from
several sources: one road appears twice (two versions, dual carriageways), and lines that meet on the
ground do not share a vertex. So the graph is built in a local metric projection (azimuthal
equidistant around the data, accurate to a fraction of a percent over a region) in four steps:

1. **Overlaps** — lines are taken longest first; a stretch of a line that runs within ``dedupe_m``
   of a line already kept, for longer than a junction would explain, is cut out (a line that runs
   alongside for most of its length is dropped whole).
2. **Noding** — lines are split where they share a vertex (OSM's own junctions).
3. **Snapping** — a dangling end within ``snap_m`` of another line is joined to it by a short
   connector, splitting that line (T-junctions and near misses in unnoded data).
4. **Parallel edges** between the same two junctions with near-equal length become one two-way edge
   (a dual carriageway is one road for a post that stops traffic on it).

Edge travel times come from the OSM ``maxspeed``, else the ``highway`` class, else ``default_kmh``.
One-way tags are honoured. Paths, footways and roads under construction are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.posts import PostsError

SPEEDS_KMH = {
    "motorway": 100, "trunk": 90, "primary": 80, "secondary": 70, "tertiary": 60, "unclassified": 50,
    "residential": 30, "living_street": 15, "service": 20, "track": 25, "road": 50,
}  # fmt: skip
NOT_DRIVABLE = {
    "footway", "path", "cycleway", "steps", "pedestrian", "bridleway", "construction", "proposed",
    "platform", "corridor", "elevator", "abandoned", "razed", "bus_guideway", "raceway", "escape",
}  # fmt: skip
READABLE = (".pbf", ".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb")
MAX_LINES = 3_000_000
MERGE_M = 0.5  # vertices closer than this are one point (exports round coordinates differently)


@dataclass
class Line:
    coords: np.ndarray  # (n, 2) lon/lat
    road: str = ""
    highway: str = ""
    maxspeed: float | None = None
    oneway: int = 0  # 0 both ways, 1 along the geometry, -1 against it


@dataclass
class Roads:
    """The graph: nodes in lon/lat and metres, edges with length, travel time and directions."""

    proj: str
    node_xy: np.ndarray
    node_lonlat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    road: list[str]
    geometry: list[np.ndarray]  # lon/lat per edge
    crossings: list[int] = field(default_factory=list)  # nodes where a road meets the border file
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def edges(self) -> int:
        return len(self.u)

    def to_xy(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return _transformer(self.proj, inverse=False)(np.asarray(lon, float), np.asarray(lat, float))

    def arcs(self, weight: np.ndarray) -> tuple[Any, dict[int, int]]:
        """A directed CSR matrix of ``weight`` (the least per node pair) and the edge of each arc."""
        from scipy.sparse import csr_matrix

        n = len(self.node_xy)
        f, b = self.forward, self.backward
        rows = np.concatenate([self.u[f], self.v[b]])
        cols = np.concatenate([self.v[f], self.u[b]])
        w = np.concatenate([weight[f], weight[b]])
        eid = np.concatenate([np.flatnonzero(f), np.flatnonzero(b)])
        order = np.lexsort((w, cols, rows))
        rows, cols, w, eid = rows[order], cols[order], w[order], eid[order]
        first = np.ones(len(rows), bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, w, eid = rows[first], cols[first], w[first], eid[first]
        matrix = csr_matrix((np.maximum(w, 1e-6), (rows, cols)), shape=(n, n))
        return matrix, dict(zip((rows * n + cols).tolist(), eid.tolist(), strict=True))

    def degree(self) -> np.ndarray:
        return np.bincount(np.concatenate([self.u, self.v]), minlength=len(self.node_xy))


def _transformer(proj: str, *, inverse: bool):  # type: ignore[no-untyped-def]
    from pyproj import Transformer

    t = Transformer.from_crs(proj, "EPSG:4326", always_xy=True) if inverse else (
        Transformer.from_crs("EPSG:4326", proj, always_xy=True))  # fmt: skip

    def run(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a, b = t.transform(x, y)
        return np.column_stack([np.asarray(a, float), np.asarray(b, float)])

    return run


# --- reading -------------------------------------------------------------------------------------


def read_lines(path: Path, *, layer: str | None = None, where: dict[str, str] | None = None) -> list[Line]:
    """Road lines from a file; PostsError naming the file for anything unreadable or empty."""
    path = Path(path)
    if not path.is_file():
        raise PostsError(f"{path}: no such road file")
    name = path.name.lower()
    if not name.endswith(READABLE):
        raise PostsError(f"{path}: not a road file this planner reads (use {', '.join(READABLE)})")
    lines = _read_pbf(path) if name.endswith(".pbf") else _read_ogr(path, layer, where or {})
    if not lines:
        raise PostsError(f"{path}: no drivable road lines in it")
    return lines


def _speed(value: Any) -> float | None:
    text = str(value or "").strip().lower().split(";")[0]
    try:
        kmh = float(text.replace("mph", "").strip()) * (1.609 if "mph" in text else 1)
    except ValueError:
        return None
    return kmh if 3 <= kmh <= 200 else None


def _oneway(value: Any) -> int:
    text = str(value or "").strip().lower()
    return 1 if text in ("yes", "true", "1", "f", "t") else -1 if text in ("-1", "reverse") else 0


def _read_pbf(path: Path) -> list[Line]:
    try:
        import osmium
    except ImportError:
        raise PostsError("reading .osm.pbf needs pyosmium: pip install 'shekteu[posts]'") from None
    lines = []
    try:
        processor = (osmium.FileProcessor(str(path)).with_locations()
                     .with_filter(osmium.filter.KeyFilter("highway")))  # fmt: skip
        for obj in processor:
            if not obj.is_way():
                continue
            tags = obj.tags
            highway = tags.get("highway", "")
            if highway in NOT_DRIVABLE or tags.get("area") == "yes":
                continue
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) >= 2:
                label = " ".join(t for t in (tags.get("ref"), tags.get("name")) if t)
                lines.append(Line(np.array(coords, float), label,
                                  highway, _speed(tags.get("maxspeed")), _oneway(tags.get("oneway"))))  # fmt: skip
            if len(lines) > MAX_LINES:
                raise PostsError(f"{path}: more than {MAX_LINES:,} road lines; clip the extract to the region")
    except (RuntimeError, OSError) as exc:
        raise PostsError(f"{path}: not a readable OSM PBF file ({exc})") from None
    return lines


def _read_ogr(path: Path, layer: str | None, where: dict[str, str], prefer: tuple[str, ...] = ("road", "highway")) -> list[Line]:
    import pyogrio
    import pyogrio.raw
    import shapely

    try:
        layers = pyogrio.list_layers(str(path))
        if layer is None:
            lines_layers = [str(n) for n, kind in layers if "line" in str(kind or "").lower()]
            roads = [n for n in lines_layers if any(word in n.lower() for word in prefer)]
            if not (roads or lines_layers):
                what = ", ".join(f"{n} ({kind})" for n, kind in layers)
                raise PostsError(f"{path}: no road lines in it, only {what}")
            layer = (roads or lines_layers)[0]
        meta, _fids, wkb, values = pyogrio.raw.read(str(path), layer=layer, max_features=MAX_LINES + 1)
    except PostsError:
        raise
    except Exception as exc:  # GDAL names the problem; the user needs the file and that reason
        raise PostsError(f"{path}: not a readable road file ({str(exc).splitlines()[0][:200]})") from None
    if len(wkb) > MAX_LINES:
        raise PostsError(f"{path}: more than {MAX_LINES:,} road lines; clip the extract to the region")
    crs = meta.get("crs")
    columns = {str(n).lower(): v for n, v in zip(meta["fields"], values, strict=True)}
    for key in where:
        if key.lower() not in columns:
            raise PostsError(f"{path}: no attribute {key!r} to filter on (has {', '.join(columns)})")
    geoms = shapely.from_wkb(wkb)
    if crs and "4326" not in str(crs) and "CRS84" not in str(crs).upper():
        from pyproj import Transformer

        t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))

    def col(*names: str) -> Any:
        return next((columns[n] for n in names if n in columns), None)

    road, ref, highway = col("name", "name_ru", "name:ru"), col("ref"), col("highway", "fclass", "class", "type")
    maxspeed, oneway = col("maxspeed"), col("oneway")
    lines = []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty or any(str(columns[k.lower()][i]) != v for k, v in where.items()):
            continue
        kind = str(highway[i]) if highway is not None and highway[i] is not None else ""
        if kind in NOT_DRIVABLE:
            continue
        label = " ".join(str(a[i]) for a in (ref, road) if a is not None and a[i] not in (None, ""))  # "M-39 Алматы – Тараз"
        parts = list(g.geoms) if hasattr(g, "geoms") else [g]
        for part in parts:
            if part.geom_type != "LineString":
                continue
            coords = shapely.get_coordinates(part)
            if len(coords) >= 2 and np.isfinite(coords).all():
                lines.append(Line(coords, label, kind, _speed(maxspeed[i]) if maxspeed is not None else None,
                                  _oneway(oneway[i]) if oneway is not None else 0))  # fmt: skip
    if not lines and any(g is not None and g.geom_type.endswith("Point") for g in geoms[:10]):
        raise PostsError(f"{path}: layer {layer!r} holds points, not road lines")
    return lines


# --- building ------------------------------------------------------------------------------------


def build(
    lines: list[Line],
    *,
    snap_m: float = 200.0,
    dedupe_m: float = 30.0,
    default_kmh: float = 70.0,
    border: list[np.ndarray] | None = None,
) -> Roads:
    """The routable graph of ``lines`` (lon/lat); ``border`` lines (lon/lat) become crossing nodes."""
    if not lines:
        raise PostsError("no road lines to build a network from")
    allc = np.vstack([ln.coords for ln in lines])
    lon0, lat0 = float(np.median(allc[:, 0])), float(np.median(allc[:, 1]))
    proj = f"+proj=aeqd +lat_0={lat0:.5f} +lon_0={lon0:.5f} +datum=WGS84 +units=m +no_defs"
    fwd = _transformer(proj, inverse=False)
    xy = fwd(allc[:, 0], allc[:, 1])
    bounds = np.cumsum([0] + [len(ln.coords) for ln in lines])
    pieces = [xy[bounds[i] : bounds[i + 1]] for i in range(len(lines))]
    meta = list(range(len(lines)))
    stats: dict[str, Any] = {"lines": len(lines), "km_read": round(sum(_length(p) for p in pieces) / 1000, 1)}

    if dedupe_m > 0:
        pieces, meta = _drop_overlaps(pieces, meta, dedupe_m)
    stats["km_after_overlaps"] = round(sum(_length(p) for p in pieces) / 1000, 1)
    pieces, meta = _split_shared(pieces, meta)
    cuts: dict[int, list[float]] = {}
    connectors: list[tuple[np.ndarray, int]] = []
    if snap_m > 0:
        connectors = _snap(pieces, snap_m, cuts)
    crossing_points: list[np.ndarray] = []
    if border:
        crossing_points = _border_cuts(pieces, [fwd(b[:, 0], b[:, 1]) for b in border], cuts)
    stats["connectors"] = len(connectors)
    out_pieces, out_meta = [], []
    for i, p in enumerate(pieces):
        for part in _cut(p, sorted(set(cuts.get(i, [])))):
            out_pieces.append(part)
            out_meta.append(meta[i])
    for c, target in connectors:
        out_pieces.append(c)
        out_meta.append(meta[target])

    starts = np.array([p[0] for p in out_pieces])
    ends = np.array([p[-1] for p in out_pieces])
    keys, inverse = _cluster(np.vstack([starts, ends]))
    u, v = inverse[: len(out_pieces)], inverse[len(out_pieces) :]
    length = np.array([_length(p) for p in out_pieces])
    speed = np.array([_edge_speed(lines[m], default_kmh) for m in out_meta])
    one = np.array([lines[m].oneway for m in out_meta], int)
    one[len(out_pieces) - len(connectors) :] = 0  # a connector joins two roads both ways
    keep = (u != v) & (length > 0.01)
    idx = np.flatnonzero(keep)
    u, v, length, speed, one = u[idx], v[idx], length[idx], speed[idx], one[idx]
    forward, backward = one >= 0, one <= 0
    geoms_xy = [out_pieces[i] for i in idx]
    roads_of = [lines[out_meta[i]].road for i in idx]
    u, v, length, speed, forward, backward, chosen = _merge_parallel(u, v, length, speed, forward, backward,
                                                                     geoms_xy, max(2 * dedupe_m, 100.0))  # fmt: skip
    stats["parallel_merged"] = int(len(idx) - len(chosen))
    geoms_xy = [geoms_xy[i] for i in chosen]
    roads_of = [roads_of[i] for i in chosen]

    used = np.unique(np.concatenate([u, v]))
    remap = np.full(len(keys), -1)
    remap[used] = np.arange(len(used))
    u, v = remap[u], remap[v]
    node_xy = keys[used]
    inv = _transformer(proj, inverse=True)
    node_lonlat = inv(node_xy[:, 0], node_xy[:, 1])
    geometry = [inv(g[:, 0], g[:, 1]) for g in geoms_xy]
    crossings: list[int] = []
    if crossing_points:
        from scipy.spatial import cKDTree

        d, near = cKDTree(node_xy).query(np.array(crossing_points))
        crossings = sorted({int(n) for dist, n in zip(d, near, strict=True) if dist < 1.0})
    roads = Roads(proj, node_xy, node_lonlat, u, v, length, length / (speed / 3.6), forward, backward,
                  roads_of, geometry, crossings, stats)  # fmt: skip
    stats.update(_components(roads))
    stats.update(nodes=len(node_xy), edges=len(u), km=round(float(length.sum()) / 1000, 1))
    return roads


def _edge_speed(line: Line, default_kmh: float) -> float:
    if line.maxspeed:
        return line.maxspeed
    base = line.highway.removesuffix("_link")
    kmh = SPEEDS_KMH.get(base, default_kmh)
    return kmh * 0.7 if line.highway.endswith("_link") else kmh


def _cluster(points: np.ndarray, tol: float = MERGE_M) -> tuple[np.ndarray, np.ndarray]:
    """(one point per cluster, the cluster of each point): points within ``tol`` are one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points)
    if n == 0:
        return points, np.zeros(0, int)
    pairs = cKDTree(points).query_pairs(tol, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else (
        coo_matrix((n, n)))  # fmt: skip
    _count, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1, -1)
    first[labels[::-1]] = np.arange(n)[::-1]
    return points[first], labels


def _geoms(pieces: list[np.ndarray]) -> np.ndarray:
    import shapely

    if not pieces:
        return np.array([], dtype=object)
    return shapely.linestrings(np.vstack(pieces), indices=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces]))


def _length(coords: np.ndarray) -> float:
    return float(np.hypot(*np.diff(coords, axis=0).T).sum()) if len(coords) > 1 else 0.0


def _point_at(coords: np.ndarray, cum: np.ndarray, s: float) -> np.ndarray:
    i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(coords) - 2))
    seg = cum[i + 1] - cum[i]
    t = 0.0 if seg <= 0 else (s - cum[i]) / seg
    return coords[i] + t * (coords[i + 1] - coords[i])


def _cut(coords: np.ndarray, positions: list[float]) -> list[np.ndarray]:
    """``coords`` split at the distances ``positions`` along it (each cut point computed once)."""
    if not positions:
        return [coords]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    total = cum[-1]
    parts, start_s, start_pt = [], 0.0, coords[0]
    for s in positions:
        if s <= start_s + 0.01 or s >= total - 0.01:
            continue
        pt = _point_at(coords, cum, s)
        inner = coords[(cum > start_s) & (cum < s)]
        parts.append(np.vstack([start_pt, inner, pt]))
        start_s, start_pt = s, pt
    parts.append(np.vstack([start_pt, coords[cum > start_s]]))
    return [p for p in parts if len(p) >= 2 and _length(p) > 0.01]


def _drop_overlaps(pieces: list[np.ndarray], meta: list[int], tol: float) -> tuple[list[np.ndarray], list[int]]:
    """Longest first: stretches running within ``tol`` of kept lines (longer than a junction) go."""
    import shapely

    geoms = _geoms(pieces)
    lengths = shapely.length(geoms)
    order = np.argsort(-lengths, kind="stable")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tol)
    # Lines that only meet at a junction are not copies: keep a pair only when one of nine points
    # along the first line lies within ``tol`` of the second (on a regional extract that is a few %).
    other = left != right
    left, right = left[other], right[other]
    samples = shapely.line_interpolate_point(geoms[:, None], np.linspace(0.1, 0.9, 9)[None, :], normalized=True)
    close = (shapely.distance(samples[left], geoms[right][:, None]) <= tol).any(axis=1)
    near: dict[int, list[int]] = {}
    for a, b in zip(left[close].tolist(), right[close].tolist(), strict=True):
        near.setdefault(a, []).append(b)
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    buffers: dict[int, Any] = {}
    kept: set[int] = set()
    out, out_meta = [], []
    junction = max(3 * tol, 100.0)
    for i in order.tolist():
        before = [j for j in near.get(i, []) if j in kept and rank[j] < rank[i]]
        line = geoms[i]
        remove: list[tuple[float, float]] = []
        if before:
            cover = shapely.union_all([_buffer(buffers, j, geoms, tol) for j in before if buffers[j] is not False])
            covered = shapely.intersection(line, cover)
            for part in getattr(covered, "geoms", [covered]):
                if part.geom_type == "LineString" and part.length >= min(junction, 0.8 * line.length):
                    a, b = sorted((line.project(shapely.Point(part.coords[0])),
                                   line.project(shapely.Point(part.coords[-1]))))  # fmt: skip
                    remove.append((a, b))
            if sum(b - a for a, b in remove) >= 0.8 * line.length:
                continue  # runs alongside a kept line nearly all the way: a second copy of it
        kept.add(i)
        if not remove:
            out.append(pieces[i])
            out_meta.append(meta[i])
            buffers[i] = None  # the whole line: its buffer is made when a later line needs it
            continue
        cuts = sorted(x for pair in remove for x in pair)
        cum_start, left = 0.0, []
        for part in _cut(pieces[i], cuts):
            mid = cum_start + _length(part) / 2
            cum_start += _length(part)
            if not any(a <= mid <= b for a, b in remove) and _length(part) >= tol:
                left.append(part)
        out += left
        out_meta += [meta[i]] * len(left)
        # later lines are compared with what is kept of this one, not with its removed stretches
        buffers[i] = shapely.buffer(shapely.union_all(_geoms(left)), tol) if left else False
    return out, out_meta


def _buffer(buffers: dict[int, Any], j: int, geoms: np.ndarray, tol: float) -> Any:
    import shapely

    if buffers[j] is None:
        buffers[j] = shapely.buffer(geoms[j], tol)
    return buffers[j]


def _split_shared(pieces: list[np.ndarray], meta: list[int]) -> tuple[list[np.ndarray], list[int]]:
    """Split lines at vertices another line (or the line itself, again) passes through."""
    if not pieces:
        return pieces, meta
    allv = np.vstack(pieces)
    owner = np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    keys, inverse = _cluster(allv)
    pair = np.unique(np.column_stack([inverse, owner]), axis=0)
    lines_per_vertex = np.bincount(pair[:, 0], minlength=len(keys))
    uses = np.bincount(inverse, minlength=len(keys))
    shared = (lines_per_vertex >= 2) | (uses >= 2)
    out, out_meta = [], []
    start = 0
    for i, p in enumerate(pieces):
        ids = inverse[start : start + len(p)]
        start += len(p)
        cut_at = np.flatnonzero(shared[ids[1:-1]]) + 1
        prev = 0
        for c in [*cut_at.tolist(), len(p) - 1]:
            if c > prev:
                out.append(p[prev : c + 1])
                out_meta.append(meta[i])
            prev = c
    return out, out_meta


def _snap(pieces: list[np.ndarray], tol: float, cuts: dict[int, list[float]]) -> list[tuple[np.ndarray, int]]:
    """Connectors from dangling ends to the nearest other line within ``tol`` (with the index of that
    line, whose name and speed the connector takes); cut points go to ``cuts``."""
    import shapely

    ends = np.array([p[0] for p in pieces] + [p[-1] for p in pieces])
    owner = np.concatenate([np.arange(len(pieces)), np.arange(len(pieces))])
    _keys, inverse = _cluster(ends)
    counts = np.bincount(inverse)
    dangling = np.flatnonzero(counts[inverse] == 1)
    if not len(dangling):
        return []
    geoms = _geoms(pieces)
    tree = shapely.STRtree(geoms)
    points = shapely.points(ends[dangling])
    # candidates within tol, then the nearest one that is not the end's own line
    pi, li = tree.query(points, predicate="dwithin", distance=tol)
    best: dict[int, tuple[float, int]] = {}
    dist = shapely.distance(points[pi], geoms[li])
    for p, line, d in zip(pi.tolist(), li.tolist(), dist.tolist(), strict=True):
        if line == owner[dangling[p]]:
            continue
        if p not in best or d < best[p][0]:
            best[p] = (d, line)
    connectors = []
    done: set[tuple[int, int]] = set()
    for p, (d, line) in best.items():
        end = ends[dangling[p]]
        target = pieces[line]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(target, axis=0).T))])
        s = float(geoms[line].project(shapely.Point(end)))
        if s <= 0.5:
            pt = target[0]
        elif s >= cum[-1] - 0.5:
            pt = target[-1]
        else:
            cuts.setdefault(line, []).append(s)
            pt = _point_at(target, cum, s)
        pair = (int(owner[dangling[p]]), line)
        if d < 0.01 or ((pair[1], pair[0]) in done and d < 1.0):
            continue
        done.add(pair)
        connectors.append((np.vstack([end, pt]), line))
    return connectors


def _border_cuts(pieces: list[np.ndarray], border: list[np.ndarray], cuts: dict[int, list[float]]) -> list[np.ndarray]:
    import shapely

    if not border:
        return []
    line = shapely.union_all(_geoms(border))
    geoms = _geoms(pieces)
    found = []
    for i in np.flatnonzero(shapely.intersects(geoms, line)).tolist():
        target = pieces[i]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(target, axis=0).T))])
        hit = shapely.intersection(geoms[i], line)
        for pt in shapely.get_coordinates(hit):
            s = float(geoms[i].project(shapely.Point(pt)))
            if s <= 0.5:
                found.append(target[0])
            elif s >= cum[-1] - 0.5:
                found.append(target[-1])
            else:
                cuts.setdefault(i, []).append(s)
                found.append(_point_at(target, cum, s))
    return found


def _merge_parallel(u, v, length, speed, forward, backward, geoms, near_m):  # type: ignore[no-untyped-def]
    """Edges joining the same two nodes with near-equal length that run within ``near_m`` of each other
    (two carriageways, two copies): keep the shortest, with both directions."""
    import shapely

    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((length, b, a))
    chosen: list[int] = []
    fw, bw = forward.copy(), backward.copy()
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and a[order[j + 1]] == a[order[i]] and b[order[j + 1]] == b[order[i]]:
            j += 1
        group = order[i : j + 1].tolist()
        keepers: list[int] = []
        for e in group:  # shortest first
            twin = next((k for k in keepers if length[e] <= 1.25 * length[k] and shapely.hausdorff_distance(
                shapely.LineString(geoms[e]), shapely.LineString(geoms[k])) <= near_m), None)  # fmt: skip
            if twin is None:
                keepers.append(e)
                continue
            same = u[e] == u[twin]
            fw[twin] |= forward[e] if same else backward[e]
            bw[twin] |= backward[e] if same else forward[e]
        chosen += keepers
        i = j + 1
    idx = np.array(sorted(chosen), int)
    return u[idx], v[idx], length[idx], speed[idx], fw[idx], bw[idx], idx.tolist()


def _components(roads: Roads) -> dict[str, Any]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(roads.node_xy)
    if n == 0:
        return {"components": 0, "largest_share": 0.0}
    g = coo_matrix((np.ones(len(roads.u)), (roads.u, roads.v)), shape=(n, n))
    count, labels = connected_components(g, directed=False)
    sizes = np.bincount(labels, weights=None)
    return {"components": int(count), "largest_share": round(float(sizes.max() / n), 4)}


def load(
    path: Path,
    *,
    layer: str | None = None,
    where: dict[str, str] | None = None,
    border: Path | None = None,
    **kwargs: Any,
) -> Roads:
    """Read and build in one call (the CLI's and the bench's way in)."""
    lines = read_lines(path, layer=layer, where=where)
    border_lines = [ln.coords for ln in _read_ogr(Path(border), None, {}, ("border", "boundary"))] if border else None
    if border and not border_lines:
        raise PostsError(f"{border}: no border lines in it")
    return build(lines, border=border_lines, **kwargs)
