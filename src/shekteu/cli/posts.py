"""`shekteu posts`: checkpoint planning — where to put k mobile posts on the roads out of the hemp
zone, and a randomised rota for them (issue 26). The work is in ``shekteu.posts``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from shekteu import audit
from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

posts_app = typer.Typer(no_args_is_help=True, help="Checkpoint planning: mobile posts on the roads out of the hemp zone.")
app.add_typer(posts_app, name="posts")
AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (needs the posts permission; default: "
                                             "the local account).")]


def _pairs(values: list[str], what: str, sep: str) -> list[tuple[str, str]]:
    found = []
    for v in values:
        if sep not in v:
            raise UserError(f"{what} {v!r}: write it as A{sep}B")
        a, b = v.split(sep, 1)
        found.append((a.strip(), b.strip()))
    return found


def _fixed(values: list[str]) -> list[tuple[float, float]]:
    points = []
    for a, b in _pairs(values, "--fixed", ","):
        try:
            lat, lon = float(a), float(b)
        except ValueError:
            raise UserError(f"--fixed {a},{b}: give LAT,LON in degrees") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise UserError(f"--fixed {a},{b}: not a latitude,longitude")
        points.append((lat, lon))
    return points


def _staff(values: list[str]) -> dict[str, int]:
    caps = {}
    for kato, n in _pairs(values, "--staff", "="):
        if not n.isdigit():
            raise UserError(f"--staff {kato}={n}: the number of posts must be a whole number")
        caps[kato] = int(n)
    return caps


def _geometries(path: Path | None, polygons_only: bool = False) -> list:  # type: ignore[type-arg]
    if path is None:
        return []
    import pyogrio.raw
    import shapely

    try:
        layers = pyogrio.list_layers(str(path))
        layer = next((str(n) for n, kind in layers if not polygons_only or "polygon" in str(kind).lower()), None)
        _m, _f, wkb, _v = pyogrio.raw.read(str(path), layer=layer, max_features=100_000)
    except Exception as exc:  # GDAL's reason, one line
        raise UserError(f"{path}: not a readable geometry file ({str(exc).splitlines()[0][:200]})") from None
    geoms = [g for g in shapely.from_wkb(wkb) if g is not None and not g.is_empty]
    if polygons_only:
        geoms = [g for g in geoms if g.geom_type.endswith("Polygon")]
    if not geoms:
        raise UserError(f"{path}: no {'polygons' if polygons_only else 'geometries'} in it")
    return geoms


@posts_app.command("plan")
def plan_cmd(
    roads_file: Annotated[Path, typer.Option("--roads", help="OSM roads: .osm.pbf, GeoPackage, GeoJSON or shapefile.")],
    k: Annotated[int, typer.Option("--k", help="Number of posts.")],
    out_file: Annotated[Path, typer.Option("--out", help="plan.geojson (or .kml for patrol apps).")],
    sources: Annotated[str, typer.Option("--sources", help="Field sites: a file (points or polygons, weight "
                                         "or hectares) or 'registry'.")] = "registry",
    destinations: Annotated[Path | None, typer.Option("--destinations", help="Settlements (population or OSM "
                            "place), exits and crossings (kind=exit|border) as points.")] = None,
    border: Annotated[Path | None, typer.Option("--border", help="Border lines: where roads cross them are ways out.")] = None,
    inside: Annotated[Path | None, typer.Option("--inside", help="Polygon the posts must stand in (e.g. the country).")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Road layer of a GeoPackage (default: the road lines).")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="KEY=VALUE: only road lines with this attribute.")] = None,
    model: Annotated[str, typer.Option("--model", help="share (flow splits over routes) or evade (couriers "
                                       "who know the posts drive around them).")] = "share",
    routes: Annotated[int, typer.Option("--routes", help="Plausible routes per source and destination.")] = 3,
    stretch: Annotated[float, typer.Option("--stretch", help="A route is plausible up to this many times the fastest.")] = 1.5,
    outlet_share: Annotated[float, typer.Option("--outlet-share", help="Share of produce leaving the region "
                                                "(vs going to settlements).")] = 0.5,
    access_km: Annotated[float, typer.Option("--access-km", help="Farthest a source may be from a road.")] = 30.0,
    snap_m: Annotated[float, typer.Option("--snap-m", help="Join road ends this close to another road.")] = 200.0,
    dedupe_m: Annotated[float, typer.Option("--dedupe-m", help="Drop road copies running this close alongside.")] = 30.0,
    default_kmh: Annotated[float, typer.Option("--default-kmh", help="Speed of roads without class or maxspeed.")] = 70.0,
    spacing_km: Annotated[float, typer.Option("--spacing-km", help="Least distance between two posts.")] = 0.0,
    per_district: Annotated[int | None, typer.Option("--per-district", help="Most posts in any one district.")] = None,
    staff: Annotated[list[str] | None, typer.Option("--staff", help="KATO=N: most posts a district can staff.")] = None,
    fixed: Annotated[list[str] | None, typer.Option("--fixed", help="LAT,LON of a post that stays.")] = None,
    forbid: Annotated[Path | None, typer.Option("--forbid", help="Where no post may stand (polygons; lines "
                                                "and points within 500 m).")] = None,
    loss: Annotated[float, typer.Option("--loss", help="Share of interception the rota may trade for surprise.")] = 0.1,
    method: Annotated[str, typer.Option("--method", help="auto, ilp or greedy.")] = "auto",
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds for the exact solver.")] = 60.0,
    evidence: Annotated[str | None, typer.Option("--evidence", help="Seizures/tips as points (file) or 'tips' "
                                                 "(located tips): routes near them weigh more.")] = None,
    evidence_km: Annotated[float, typer.Option("--evidence-km", help="How near a route evidence counts.")] = 5.0,
    brief: Annotated[Path | None, typer.Option("--brief", help="Also write a Russian PDF brief.")] = None,
    name: Annotated[str, typer.Option("--name", help="A name for the stored plan.")] = "",
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Choose K posts that intercept the most of what leaves the zone; write the plan and store it."""
    from shekteu.posts import PostsError, flows, plan, roads, store
    from shekteu.posts import brief as brief_pdf

    who = actor or audit.current_actor()
    if method not in ("auto", "ilp", "greedy"):
        raise UserError(f"--method {method}: use auto, ilp or greedy")
    if out_file.suffix.lower() not in (".geojson", ".json", ".kml"):
        raise UserError(f"--out {out_file}: write the plan as .geojson (or .kml)")
    rt = open_runtime()
    with rt.db.write() as session:  # refuse early, before minutes of routing, if the user may not plan
        from shekteu.users import authorize

        authorize(session, who, "posts")
    try:
        with progress(None, "reading roads"):
            net = roads.load(roads_file, layer=layer, where=dict(_pairs(where or [], "--where", "=")), border=border,
                             snap_m=snap_m, dedupe_m=dedupe_m, default_kmh=default_kmh)
        if sources == "registry":
            with rt.db.read() as session:
                src = flows.sources_from_registry(session)
            if not src:
                raise UserError("no growing field sites in the registry: give --sources FILE (or map sites first)")
        else:
            src = flows.read_places(Path(sources), kind="source")
        dst = flows.outlets(net)
        if destinations:
            dst += flows.read_places(destinations, kind="settlement")
        ev = []
        if evidence == "tips":
            from sqlalchemy import select

            from shekteu.db.tables import Tip

            with rt.db.read() as session:
                ev = [flows.Place(t.lon, t.lat, 1.0, f"tip {t.id}", "evidence")
                      for t in session.scalars(select(Tip).where(Tip.lat.is_not(None), Tip.lon.is_not(None)))]
        elif evidence:
            ev = flows.read_places(Path(evidence), kind="evidence")
        inside_geom = None
        if inside:
            import shapely

            inside_geom = shapely.union_all(_geometries(inside, polygons_only=True))
        opts = plan.Options(k=k, model=model, routes=routes, stretch=stretch, outlet_share=outlet_share,
                            access_km=access_km, loss=loss, spacing_km=spacing_km, per_district=per_district,
                            staff=_staff(staff or []), fixed=_fixed(fixed or []), forbid=_geometries(forbid),
                            inside=inside_geom, time_limit=time_limit, method=method, evidence=ev,
                            evidence_radius_km=evidence_km)
        with progress(len(src), "routes") as bar:
            task = bar.task_ids[0]
            result = plan.make(net, src, dst, opts, progress=lambda done, total: bar.update(task, completed=done))
        plan.write(out_file, result)
        with rt.db.write() as session:
            row, new = store.save(session, result, actor=who, name=name or out_file.stem)
            plan_id = row.id
        if brief:
            pdf = brief_pdf.render(result, author=who, source=roads_file.name)
            brief.parent.mkdir(parents=True, exist_ok=True)
            brief.write_bytes(pdf)
    except PostsError as exc:
        raise UserError(str(exc)) from None
    doc = plan.result_json(result) | {"plan_id": plan_id}
    if json_out:
        emit_json(doc)
        return
    _print_plan(doc, out_file, new, brief)


def _print_plan(doc: dict, out_file: Path, new: bool, brief: Path | None) -> None:  # type: ignore[type-arg]
    from rich.table import Table

    from shekteu.geo import boundaries

    names = {a.kato: a.name_ru for a in boundaries.load()}
    table = Table("post", "lat", "lon", "road", "district", "intercepted", title=f"{len(doc['posts'])} posts")
    for n, p in enumerate(doc["posts"], 1):
        table.add_row(str(n), f"{p['lat']:.5f}", f"{p['lon']:.5f}", safe(p["road"] or "-", 40),
                      names.get(p["kato"], p["kato"] or "-"), f"{p['intercepted']:.1%}")
    out.print(table)
    gap = "unknown" if doc["gap"] is None else f"{doc['gap']:.2%}"
    r = doc["rota"]
    out.print(f"intercepted {doc['intercepted_share']:.1%} of the flow ({doc['method']}, gap {gap}, "
              f"{doc['candidates']} candidate stretches, {doc['routes']} routes)")
    out.print(f"rota: {r['expected_share']:.1%} expected, {r['entropy_bits']:.2f} bits of surprise "
              f"(fixed posts {r['pure_entropy_bits']:.2f}); a watching courier: {r['watched_share']:.1%} "
              f"(fixed posts {doc['watched_share']:.1%})")
    for note in doc.get("notes", []) + doc.get("problems", [])[:5]:
        err.print(f"note: {safe(note)}")
    out.print(f"plan {doc['plan_id']} {'stored' if new else 'already stored'}; written to {safe(str(out_file))}"
              + (f" and {safe(str(brief))}" if brief else ""))


@posts_app.command("roster")
def roster_cmd(
    plan_ref: Annotated[str, typer.Argument(help="A plan file, or the id of a stored plan ('latest' for the newest).")],
    days: Annotated[int, typer.Option("--days", help="Days of roster.")],
    out_file: Annotated[Path, typer.Option("--out", help="roster.csv")],
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (the same seed gives the same roster).")] = None,
    shifts: Annotated[int, typer.Option("--shifts", help="Shifts a day (1, 2 or 3).")] = 2,
    start: Annotated[str | None, typer.Option("--start", help="First day YYYY-MM-DD (default tomorrow).")] = None,
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A randomised daily roster drawn from the plan's mixed strategy (posts move every shift)."""
    from shekteu.posts import PostsError, plan, rota, store

    who = actor or audit.current_actor()
    try:
        first = date.fromisoformat(start) if start else date.today() + timedelta(days=1)
    except ValueError:
        raise UserError(f"--start {start}: give a date as YYYY-MM-DD") from None
    rt = open_runtime()
    try:
        with rt.db.write() as session:
            if Path(plan_ref).is_file():
                from shekteu.users import authorize

                authorize(session, who, "posts")
                doc = plan.read(Path(plan_ref))
                target = f"file:{Path(plan_ref).name}"
            elif plan_ref == "latest" or plan_ref.isdigit():
                row = store.get(session, None if plan_ref == "latest" else int(plan_ref), actor=who, why="roster drawn")
                doc, target = row.plan, f"post_plan:{row.id}"
            else:
                raise UserError(f"{plan_ref}: no such plan file (or give a stored plan's id)")
            rows, summary = rota.roster(doc["shekteu"]["rota"], days=days, start=first, seed=seed, shifts=shifts)
            audit.record(session, "posts.roster", target, actor=who, reason="rota drawn",
                         detail={"days": days, "shifts": shifts, "seed": seed, "start": first.isoformat()})
    except PostsError as exc:
        raise UserError(str(exc)) from None
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(rota.to_csv(rows), encoding="utf-8")
    if json_out:
        emit_json(summary | {"rows": len(rows), "out": str(out_file)})
        return
    out.print(f"{len(rows)} post-shifts over {days} days written to {safe(str(out_file))}: "
              f"{summary['distinct_placements']} different placements, {summary['distinct_spots']} distinct spots, "
              f"{summary['placement_entropy_bits']:.2f} bits")


@posts_app.command("list")
def list_cmd(actor: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Stored plans (newest first)."""
    from rich.table import Table

    from shekteu.posts import store

    rt = open_runtime()
    with rt.db.read() as session:
        rows = [store.as_json(r) for r in store.listing(session, actor=actor or audit.current_actor())]
    if json_out:
        for r in rows:
            emit_json(r)
        return
    table = Table("id", "name", "k", "intercepted", "method", "by", "at")
    for r in rows:
        table.add_row(str(r["id"]), safe(r["name"], 40), str(r["k"]), f"{r['intercepted_share']:.1%}", r["method"],
                      safe(r["created_by"]), r["created_at"][:16])
    out.print(table)
