"""One plan from roads, sources and destinations: flows, the k posts, the rota — and the files a
commander and a patrol app use (GeoJSON, KML).

A plan is one GeoJSON FeatureCollection: the posts (points), the flows drawn on the roads (lines,
with their share of the total), the sources and destinations; its ``shekteu`` member holds the
summary and the rota (the mixed strategy the roster is drawn from). Files are written to a temporary
name and renamed, so an interrupted run never leaves half a plan.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from shekteu.posts import PostsError, placement, rota
from shekteu.posts import flows as flow_model
from shekteu.posts.flows import Place
from shekteu.posts.roads import Roads

FORMAT = "shekteu-post-plan/1"
FIXED_SNAP_M = 5_000.0
FORBID_BUFFER_M = 500.0
OPTION_EDGES = 20


@dataclass
class Options:
    k: int
    model: str = "share"
    routes: int = 3
    stretch: float = 1.5
    outlet_share: float = 0.5
    access_km: float = 30.0
    loss: float = 0.1
    spacing_km: float = 0.0
    per_district: int | None = None
    staff: dict[str, int] = field(default_factory=dict)
    fixed: list[tuple[float, float]] = field(default_factory=list)  # lat, lon
    forbid: list[Any] = field(default_factory=list)  # shapely geometries, lon/lat
    inside: Any = None  # a shapely polygon (lon/lat) posts must stand in
    time_limit: float = 60.0
    method: str = "auto"
    evidence: list[Place] = field(default_factory=list)
    evidence_radius_km: float = 5.0


def _edge_lines(roads: Roads):  # type: ignore[no-untyped-def]
    import shapely

    xy = [roads.to_xy(g[:, 0], g[:, 1]) for g in roads.geometry]
    return shapely.linestrings(np.vstack(xy), indices=np.repeat(np.arange(roads.edges), [len(g) for g in xy]))


def _forbidden(roads: Roads, opts: Options) -> set[int]:
    import shapely

    if not opts.forbid and opts.inside is None:
        return set()
    # a stretch is judged by its middle, where its post would stand: a road that only touches a zone
    # at its end is not forbidden by it
    mids = shapely.line_interpolate_point(_edge_lines(roads), 0.5, normalized=True)
    out: set[int] = set()
    if opts.forbid:
        zones = []
        for g in opts.forbid:
            xy = shapely.transform(g, lambda c: roads.to_xy(c[:, 0], c[:, 1]))
            zones.append(xy if xy.geom_type.endswith("Polygon") else shapely.buffer(xy, FORBID_BUFFER_M))
        out |= set(np.flatnonzero(shapely.intersects(mids, shapely.union_all(zones))).tolist())
    if opts.inside is not None:
        area = shapely.transform(opts.inside, lambda c: roads.to_xy(c[:, 0], c[:, 1]))
        out |= set(np.flatnonzero(~shapely.within(mids, area)).tolist())
    return out


def _fixed_groups(roads: Roads, p: placement.Problem, points: list[tuple[float, float]]) -> list[int]:
    import shapely

    if not points:
        return []
    lines = _edge_lines(roads)
    carrying = np.flatnonzero(p.group_of_edge >= 0)
    tree = shapely.STRtree(lines[carrying])
    groups = []
    for lat, lon in points:
        xy = roads.to_xy(np.array([lon]), np.array([lat]))[0]
        idx, dist = tree.query_nearest(shapely.Point(xy), return_distance=True)
        if not len(idx) or dist[0] > FIXED_SNAP_M:
            raise PostsError(f"fixed post {lat:.5f},{lon:.5f} is not within {FIXED_SNAP_M / 1000:.0f} km of a road "
                             "that carries flow out of the zone")  # fmt: skip
        groups.append(int(p.group_of_edge[carrying[int(idx[0])]]))
    return groups


def make(roads: Roads, sources: list[Place], destinations: list[Place], opts: Options, *,
         progress: Any = None) -> dict[str, Any]:  # fmt: skip
    """The plan as a GeoJSON FeatureCollection (see the module docstring)."""
    if opts.k < 1:
        raise PostsError("--k must be at least 1")
    if not 0 <= opts.outlet_share <= 1:
        raise PostsError("--outlet-share must be between 0 and 1")
    if opts.routes < 1 or opts.routes > 10:
        raise PostsError("--routes must be between 1 and 10")
    flows = flow_model.route(roads, sources, destinations, routes=opts.routes, stretch=opts.stretch,
                             outlet_share=opts.outlet_share, max_access_m=opts.access_km * 1000,
                             progress=progress)  # fmt: skip
    evidence_used = 0
    if opts.evidence:
        evidence_used = flow_model.boost(roads, flows, opts.evidence, radius_m=opts.evidence_radius_km * 1000)
    p = placement.problem(roads, flows, forbidden=_forbidden(roads, opts))
    fixed = _fixed_groups(roads, p, opts.fixed)
    caps = dict.fromkeys({d for d in p.district if d}, opts.per_district) if opts.per_district else {}
    caps.update(opts.staff)
    cons = placement.Constraints(fixed=fixed, spacing_m=opts.spacing_km * 1000, caps=caps)
    sol = placement.solve(p, opts.k, model=opts.model, constraints=cons, time_limit=opts.time_limit,
                          method=opts.method)  # fmt: skip
    alternatives = []
    if sol.method == "ilp" and sol.seconds < 2 and opts.loss > 0:
        for g in sol.chosen:
            if g in fixed:
                continue
            alt = placement.Constraints(fixed=fixed, spacing_m=cons.spacing_m, caps=caps, excluded={g})
            try:
                alternatives.append(placement.solve(p, opts.k, model=opts.model, constraints=alt,
                                                    time_limit=5, method="ilp").chosen)  # fmt: skip
            except PostsError:
                continue
    mixed = rota.mix(p, sol.chosen, loss=opts.loss, fixed=fixed, caps=caps, spacing_m=cons.spacing_m,
                     alternatives=alternatives, model=sol.model)  # fmt: skip
    stopped = placement.attribution(p, flows, sol.chosen)
    total = flows.total or 1.0
    posts = []
    for n, g in enumerate(sol.chosen, 1):
        d = placement.describe(p, roads, g)
        posts.append({**d, "n": n, "intercepted": round(stopped[g] / total, 4), "fixed": g in fixed})
    summary = {
        "format": FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "k": opts.k, "model": sol.model, "method": sol.method, "intercepted_share": round(sol.share, 4),
        "gap": None if sol.gap is None else round(sol.gap, 4), "seconds": round(sol.seconds, 3),
        "guarantee": round(placement.GREEDY_GUARANTEE, 4) if sol.method == "greedy" else 1.0,
        "watched_share": round(mixed.pure_watched_share, 4),
        "sources": len(sources), "destinations": len(destinations), "routes": len(flows.routes),
        "pairs": len(flows.pairs), "candidates": len(p.groups), "flow_total": round(flows.total, 3),
        "unrouted_share": round(flows.unrouted / (flows.unrouted + flows.total), 4) if flows.total else 1.0,
        "evidence_used": evidence_used, "network": roads.stats,
        "constraints": {"fixed": len(fixed), "spacing_km": opts.spacing_km, "caps": caps,
                        "forbidden_edges": int(((p.group_of_edge < 0)).sum())},
        "notes": sol.notes, "problems": flows.problems[:50],
        "rota": {"loss": opts.loss, "expected_share": round(mixed.expected_share, 4),
                 "watched_share": round(mixed.watched_share, 4), "entropy_bits": round(mixed.entropy_bits, 3),
                 "pure_entropy_bits": round(mixed.pure_entropy_bits, 3), "max_coverage": round(mixed.max_coverage, 3),
                 "placements": len(mixed.placements)},
    }  # fmt: skip
    features = [_post_feature(post) for post in posts]
    features += _flow_features(roads, flows)
    features += [_place_feature(s, "source") for s in sources]
    features += [_place_feature(d, "destination") for d in destinations]
    return {"type": "FeatureCollection", "features": features,
            "shekteu": {"summary": summary, "rota": _rota_section(roads, p, mixed, cons.spacing_m)}}  # fmt: skip


def _post_feature(post: dict[str, Any]) -> dict[str, Any]:
    props = {"kind": "post", **{k: v for k, v in post.items() if k not in ("lat", "lon")}}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [post["lon"], post["lat"]]},
            "properties": props}  # fmt: skip


def _flow_features(roads: Roads, flows: flow_model.Flows, floor: float = 0.002) -> list[dict[str, Any]]:
    per_edge = np.zeros(roads.edges)
    for r in flows.routes:
        per_edge[r.edges] += r.flow
    total = flows.total or 1.0
    out = []
    for e in np.flatnonzero(per_edge >= floor * total).tolist():
        coords = np.round(roads.geometry[e], 5).tolist()
        out.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": {"kind": "flow", "share": round(float(per_edge[e] / total), 4),
                                   "road": roads.road[e]}})  # fmt: skip
    return out


def _place_feature(p: Place, kind: str) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(p.lon, 6), round(p.lat, 6)]},
            "properties": {"kind": kind, "name": p.name, "type": p.kind, "weight": round(p.weight, 3),
                           "on_road": p.node >= 0}}  # fmt: skip


def _rota_section(roads: Roads, p: placement.Problem, mixed: rota.Mix, spacing_m: float) -> dict[str, Any]:
    used = sorted({g for pl in mixed.placements for g in pl})
    index = {g: i for i, g in enumerate(used)}
    options = []
    for g in used:
        members = p.groups[g]
        longest = members[np.argsort(-roads.length_m[members])[:OPTION_EDGES]]
        options.append({"coverage": round(float(mixed.coverage[g]), 5), "kato": p.district[g] if p.district else "",
                        "edges": [{"road": roads.road[e], "length_m": round(float(roads.length_m[e]), 1),
                                   "coords": np.round(roads.geometry[e], 6).tolist()} for e in longest.tolist()]})  # fmt: skip
    return {"options": options, "placements": [[index[g] for g in pl] for pl in mixed.placements],
            "probability": [round(float(x), 8) for x in mixed.probability], "spacing_m": spacing_m}  # fmt: skip


def result_json(plan: dict[str, Any]) -> dict[str, Any]:
    """The ``posts plan --json`` contract (and the rest of the summary)."""
    s = plan["shekteu"]["summary"]
    posts = [{"lat": f["geometry"]["coordinates"][1], "lon": f["geometry"]["coordinates"][0],
              "road": f["properties"]["road"], "intercepted": f["properties"]["intercepted"],
              "kato": f["properties"].get("kato", ""), "fixed": f["properties"].get("fixed", False)}
             for f in plan["features"] if f["properties"].get("kind") == "post"]  # fmt: skip
    return {"posts": posts, "intercepted_share": s["intercepted_share"], "gap": s["gap"], "method": s["method"],
            **{k: v for k, v in s.items() if k not in ("intercepted_share", "gap", "method")}}  # fmt: skip


def read(path: Path) -> dict[str, Any]:
    """A plan file written by ``write``; PostsError if it is not one."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PostsError(f"{path}: cannot read the plan ({exc.strerror or exc})") from None
    if len(raw) > 200 * 1024 * 1024:
        raise PostsError(f"{path}: larger than 200 MB; not a plan file")
    try:
        plan = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PostsError(f"{path}: not a plan (not JSON)") from None
    if not isinstance(plan, dict) or plan.get("shekteu", {}).get("summary", {}).get("format") != FORMAT:
        raise PostsError(f"{path}: not a plan written by `shekteu posts plan`")
    return plan


def write(path: Path, plan: dict[str, Any]) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".kml"):
        raise PostsError(f"{path}: write the plan as .geojson (or .kml for patrol apps)")
    text = kml(plan) if suffix == ".kml" else json.dumps(plan, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def kml(plan: dict[str, Any]) -> str:
    """Posts as placemarks and flows as lines, every text escaped."""
    marks = []
    for f in plan["features"]:
        p = f["properties"]
        if p.get("kind") == "post":
            lon, lat = f["geometry"]["coordinates"]
            title = f"Пост {p['n']}: {p.get('road') or 'дорога'} ({p['intercepted']:.0%})"
            data = "".join(f'<Data name="{escape(str(k))}"><value>{escape(str(v))}</value></Data>'
                           for k, v in p.items() if v is not None)  # fmt: skip
            marks.append(f"<Placemark><name>{escape(title)}</name><styleUrl>#post</styleUrl><ExtendedData>{data}"
                         f"</ExtendedData><Point><coordinates>{lon:.6f},{lat:.6f}</coordinates></Point></Placemark>")  # fmt: skip
        elif p.get("kind") == "flow":
            coords = " ".join(f"{x:.5f},{y:.5f}" for x, y in f["geometry"]["coordinates"])
            marks.append(f"<Placemark><name>{escape(str(p.get('road') or ''))} {p['share']:.1%}</name>"
                         f"<styleUrl>#flow</styleUrl><LineString><coordinates>{coords}</coordinates>"
                         "</LineString></Placemark>")  # fmt: skip
    styles = ('<Style id="post"><IconStyle><color>ff0000ff</color><scale>1.2</scale></IconStyle></Style>'
              '<Style id="flow"><LineStyle><color>ff00a5ff</color><width>3</width></LineStyle></Style>')  # fmt: skip
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>Shekteu: мобильные посты</name>{styles}{''.join(marks)}</Document></kml>\n")  # fmt: skip
