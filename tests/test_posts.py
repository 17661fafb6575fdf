"""Checkpoint planning (issue 26): road graphs from messy files, flows, the exact and greedy placement
against brute force on generated networks with known answers, constraints, the rota, the CLI
contracts, bad input, and the real Shu-valley corridors."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

pytest.importorskip("shapely")

from shekteu.db.posts_tables import PostPlan
from shekteu.db.tables import AuditEntry
from shekteu.posts import PostsError, flows, placement, plan, roads, rota, store, synth
from shekteu.posts.flows import Place
from tests.command import shekteu

SHU = Path(__file__).parent / "data" / "posts" / "shu_valley_roads.gpkg"
LON0, LAT0 = 74.0, 43.9  # inside Shu district


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    return shekteu(*args, env=full, timeout=300, input=stdin)


def at(east_km: float, north_km: float) -> list[float]:
    return list(synth.offset(LON0, LAT0, east_km, north_km))


def two_towns(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two 3×3 grids (2 km) joined by one 10 km bridge road; sources west, ways out east."""
    west = synth.grid(3, 3, spacing_km=2, lon0=LON0, lat0=LAT0)
    elon, elat = synth.offset(LON0, LAT0, 14, 0)
    east = synth.grid(3, 3, spacing_km=2, lon0=elon, lat0=elat)
    bridge = synth.line([at(4, 2), at(14, 2)], name="мост", highway="primary")
    road = synth.write(tmp_path / "roads.geojson", west + east + [bridge])
    src = synth.write(tmp_path / "src.geojson", [synth.point(*at(0, 0), hectares=50), synth.point(*at(2, 4), hectares=30)])
    dst = synth.write(tmp_path / "dst.geojson", [synth.point(*at(18, 0), kind="exit"), synth.point(*at(18, 4), kind="exit")])
    return road, src, dst


def build_plan(road: Path, src: Path, dst: Path, **kw) -> dict:  # type: ignore[no-untyped-def]
    net = roads.load(road)
    sources = flows.read_places(src, kind="source")
    dests = flows.outlets(net) + flows.read_places(dst, kind="settlement")
    return plan.make(net, sources, dests, plan.Options(**kw))


def test_one_post_on_the_only_bridge_intercepts_everything(tmp_path: Path) -> None:
    road, src, dst = two_towns(tmp_path)
    result = build_plan(road, src, dst, k=1)
    out = plan.result_json(result)
    assert out["method"] == "ilp" and out["gap"] == 0.0
    assert out["intercepted_share"] == pytest.approx(1.0)
    (post,) = out["posts"]
    assert post["road"] == "мост" and post["intercepted"] == pytest.approx(1.0)
    assert at(4, 2)[0] < post["lon"] < at(14, 2)[0]
    # with the bridge forbidden nothing else can stop the flow: the planner says so in its figure
    import shapely

    box = shapely.box(at(6, 1)[0], at(6, 1)[1], at(12, 3)[0], at(12, 3)[1])
    forbidden = build_plan(road, src, dst, k=1, forbid=[box])
    assert plan.result_json(forbidden)["posts"][0]["road"] != "мост"


def _square(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two roads of nearly equal length from a source corner to an exit corner."""
    north = synth.line([at(0, 0), at(10, 8), at(20, 0)], name="north")
    south = synth.line([at(0, 0), at(10, -7), at(20, 0)], name="south")
    stub_w = synth.line([at(-5, 0), at(0, 0)], name="west stub")
    stub_e = synth.line([at(20, 0), at(25, 0)], name="east stub")
    road = synth.write(tmp_path / "square.geojson", [north, south, stub_w, stub_e])
    src = synth.write(tmp_path / "ssrc.geojson", [synth.point(*at(-5, 0.1), weight=1)])
    dst = synth.write(tmp_path / "sdst.geojson", [synth.point(*at(25, 0.1), kind="exit")])
    return road, src, dst


def test_couriers_who_know_the_posts_drive_around_a_single_one(tmp_path: Path) -> None:
    road, src, dst = _square(tmp_path)
    share1 = plan.result_json(build_plan(road, src, dst, k=1, routes=2))
    evade1 = plan.result_json(build_plan(road, src, dst, k=1, routes=2, model="evade"))
    evade2 = plan.result_json(build_plan(road, src, dst, k=2, routes=2, model="evade"))
    assert share1["routes"] == 2  # both roads are plausible
    # on the approach stubs one post catches everything, whatever the courier knows
    assert share1["intercepted_share"] == pytest.approx(1.0) and evade1["intercepted_share"] == pytest.approx(1.0)
    assert evade2["intercepted_share"] == pytest.approx(1.0)
    # with the stubs forbidden, a single post only covers one road, which the watching courier avoids
    import shapely

    stubs = [shapely.LineString([at(-5, 0), at(0, 0)]), shapely.LineString([at(20, 0), at(25, 0)])]
    s1 = plan.result_json(build_plan(road, src, dst, k=1, routes=2, forbid=stubs))
    e1 = plan.result_json(build_plan(road, src, dst, k=1, routes=2, forbid=stubs, model="evade"))
    e2 = plan.result_json(build_plan(road, src, dst, k=2, routes=2, forbid=stubs, model="evade"))
    assert 0.5 <= s1["intercepted_share"] < 1.0
    assert e1["intercepted_share"] == 0.0 and e2["intercepted_share"] == pytest.approx(1.0)
    assert e1["rota"]["watched_share"] >= e1["watched_share"]


def _grid_problem(tmp_path: Path, seed: int, model_routes: int = 3) -> tuple[roads.Roads, placement.Problem]:
    feats = synth.grid(6, 5, spacing_km=3, lon0=LON0, lat0=LAT0, drop=0.2, seed=seed)
    net = roads.build(roads.read_lines(synth.write(tmp_path / f"g{seed}.geojson", feats)))
    rng = np.random.default_rng(seed)
    sources = [Place(*at(rng.uniform(0, 4), rng.uniform(0, 12)), rng.uniform(1, 5)) for _ in range(3)]
    dests = [Place(*at(15, rng.uniform(0, 12)), 1.0, kind="exit") for _ in range(3)]
    f = flows.route(net, sources, dests, routes=model_routes, min_trip_m=1000)
    return net, placement.problem(net, f)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_the_integer_programme_finds_the_brute_force_optimum_and_greedy_keeps_its_bound(tmp_path: Path, seed: int) -> None:
    _net, p = _grid_problem(tmp_path, seed)
    n = len(p.groups)
    assert 4 <= n <= 60
    for model in ("share", "evade"):
        for k in (1, 2, 3):
            best = max(placement.value(p, combo, model) for combo in itertools.combinations(range(n), k))
            exact = placement.solve(p, k, model=model, method="ilp")
            assert exact.method == "ilp" and exact.value == pytest.approx(best, rel=1e-6), (model, k)
            greedy = placement.solve(p, k, model=model, method="greedy")
            assert greedy.value <= best + 1e-9
            if model == "share":
                assert greedy.value >= placement.GREEDY_GUARANTEE * best - 1e-9
                # the a-posteriori gap is a true bound: optimum <= value / (1 - gap)
                assert best <= greedy.value / (1 - greedy.gap) + 1e-6


def test_spacing_staffing_and_fixed_posts_hold(tmp_path: Path) -> None:
    net, p = _grid_problem(tmp_path, 5)
    free = placement.solve(p, 3)
    spaced = placement.solve(p, 3, constraints=placement.Constraints(spacing_m=5000))
    pts = p.point_xy[spaced.chosen]
    assert all(np.hypot(*(a - b)) >= 5000 for a, b in itertools.combinations(pts, 2))
    assert spaced.value <= free.value + 1e-9
    kato = p.district[0]
    assert kato and set(p.district) == {kato}  # the grid lies in one district
    capped = placement.solve(p, 3, constraints=placement.Constraints(caps={kato: 1}))
    assert len(capped.chosen) == 1
    worst = min(range(len(p.groups)), key=lambda g: placement.value(p, [g]))
    fixed = placement.solve(p, 2, constraints=placement.Constraints(fixed=[worst]))
    assert worst in fixed.chosen and len(fixed.chosen) == 2
    with pytest.raises(PostsError, match="k=999 posts but only"):
        placement.solve(p, 999)
    del net


def test_the_rota_keeps_its_promise_and_is_harder_to_predict(tmp_path: Path) -> None:
    _net, p = _grid_problem(tmp_path, 7)
    pure = placement.solve(p, 3)
    fixed_only = rota.mix(p, pure.chosen, loss=0.0)
    assert len(fixed_only.placements) == 1 and fixed_only.expected_share == pytest.approx(pure.share)
    for loss in (0.05, 0.2):
        m = rota.mix(p, pure.chosen, loss=loss)
        assert m.expected_share >= (1 - loss) * pure.share - 1e-6  # exact, not an estimate
        assert m.entropy_bits > fixed_only.entropy_bits
        assert m.probability.sum() == pytest.approx(1.0)
        # the promise checked by brute force: expected flow over the placements it draws from
        exact = sum(pr * placement.value(p, pl) for pl, pr in zip(m.placements, m.probability, strict=True))
        assert exact / p.total == pytest.approx(m.expected_share, rel=1e-6)


def test_roads_from_messy_files_become_one_clean_graph(tmp_path: Path) -> None:
    a = synth.line([at(0, 0), at(10, 0)], name="main", highway="primary")
    copy = synth.line([at(0, 0.01), at(10, 0.01)], name="main (second copy)", highway="primary")
    t_road = synth.line([at(5, 6), at(5, 0.08)], name="side", highway="secondary")  # stops 80 m short
    far = synth.line([at(30, 0), at(40, 0)], name="elsewhere")
    net = roads.build(roads.read_lines(synth.write(tmp_path / "messy.geojson", [a, copy, t_road, far])))
    assert net.stats["km"] == pytest.approx(10 + 6 + 10, abs=0.5)  # the copy is gone, the gap bridged
    assert net.stats["components"] == 2  # main+side, and the far road
    side = [e for e in range(net.edges) if net.road[e] == "side"]
    assert side and net.time_s[side[0]] == pytest.approx(net.length_m[side[0]] / (70 / 3.6), rel=0.01)
    one = synth.line([at(0, 0), at(10, 0)], name="one way", oneway="yes")
    net1 = roads.build(roads.read_lines(synth.write(tmp_path / "oneway.geojson", [one])))
    src, dst = [Place(*at(10, 0), 1.0)], [Place(*at(0, 0), 1.0, kind="exit")]
    with pytest.raises(PostsError, match=r"no road to any destination|disconnected"):
        flows.route(net1, src, dst, min_trip_m=100)
    ok = flows.route(net1, [Place(*at(0, 0), 1.0)], [Place(*at(10, 0), 1.0, kind="exit")], min_trip_m=100)
    assert len(ok.routes) == 1


def test_an_osm_pbf_extract_is_read_with_its_tags(tmp_path: Path) -> None:
    osmium = pytest.importorskip("osmium")
    path = tmp_path / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    try:
        coords = [at(0, 0), at(5, 0), at(10, 0), at(5, 5)]
        for i, (lon, lat) in enumerate(coords, 1):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lon, lat), version=1))
        writer.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2, 3], tags={"highway": "trunk", "name": "М-39", "maxspeed": "90"}))
        writer.add_way(osmium.osm.mutable.Way(id=2, nodes=[2, 4], tags={"highway": "track"}))
        writer.add_way(osmium.osm.mutable.Way(id=3, nodes=[3, 4], tags={"highway": "footway"}))
    finally:
        writer.close()
    net = roads.load(path)
    assert net.edges == 3 and net.stats["components"] == 1  # split at the shared node 2; footway left out
    assert sorted(net.road) == ["", "М-39", "М-39"]
    trunk = [e for e in range(net.edges) if net.road[e]]
    assert net.time_s[trunk[0]] == pytest.approx(net.length_m[trunk[0]] / 25, rel=0.01)  # 90 km/h


def test_bad_input_gets_one_clear_message(tmp_path: Path) -> None:
    garbage = tmp_path / "roads.geojson"
    garbage.write_bytes(os.urandom(5000))
    with pytest.raises(PostsError, match="not a readable road file"):
        roads.load(garbage)
    with pytest.raises(PostsError, match="no such road file"):
        roads.load(tmp_path / "missing.gpkg")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PostsError, match="not a road file this planner reads"):
        roads.load(tmp_path / "notes.txt")
    pts = synth.write(tmp_path / "points.geojson", [synth.point(*at(0, 0))])
    with pytest.raises(PostsError, match="no road lines in it, only points"):
        roads.load(pts)
    # two separate road systems: the sources cannot reach any destination
    left = synth.line([at(0, 0), at(10, 0)])
    right = synth.line([at(50, 0), at(60, 0)])
    net = roads.build(roads.read_lines(synth.write(tmp_path / "split.geojson", [left, right])))
    with pytest.raises(PostsError, match="no source has a road to any destination"):
        flows.route(net, [Place(*at(0, 0), 1.0)], [Place(*at(60, 0), 1.0, kind="exit")])
    with pytest.raises(PostsError, match="within reach of a road"):
        flows.route(net, [Place(*at(0, 500), 1.0)], [Place(*at(60, 0), 1.0, kind="exit")])
    with pytest.raises(PostsError, match="not a plan"):
        plan.read(pts)


def test_evidence_near_a_road_moves_the_next_plan_to_it(tmp_path: Path) -> None:
    road, src, dst = _square(tmp_path)
    import shapely

    stubs = [shapely.LineString([at(-5, 0), at(0, 0)]), shapely.LineString([at(20, 0), at(25, 0)])]
    seized_south = [Place(*at(10, -6.5), 3.0, kind="evidence")]
    seized_north = [Place(*at(10, 7.5), 3.0, kind="evidence")]
    south = plan.result_json(build_plan(road, src, dst, k=1, routes=2, forbid=stubs, evidence=seized_south))
    north = plan.result_json(build_plan(road, src, dst, k=1, routes=2, forbid=stubs, evidence=seized_north))
    assert south["evidence_used"] == 1 and south["posts"][0]["lat"] < at(0, 0)[1] < north["posts"][0]["lat"]


def test_the_real_shu_valley_corridors_make_a_plan_inside_kazakhstan(tmp_path: Path) -> None:
    import pyogrio.raw
    import shapely

    net = roads.load(SHU, layer="republic_roads_osm", dedupe_m=1000, snap_m=1500, border=SHU)  # its border layer
    assert net.stats["largest_share"] >= 0.9 and net.stats["km"] < 0.7 * net.stats["km_read"]  # copies dropped
    assert len(net.crossings) >= 1
    _m, _f, wkb, _v = pyogrio.raw.read(str(SHU), layer="kz_territory_clip")
    kz = shapely.from_wkb(wkb[0])
    sources = [Place(*at(e, n), 100.0, f"site {e},{n}") for e, n in ((0, 0), (30, 20), (60, -10), (-20, -30))]
    dests = flows.outlets(net)
    shares = []
    for k in (1, 3, 5):
        out = plan.result_json(plan.make(net, sources, dests, plan.Options(k=k, inside=kz, access_km=60)))
        assert all(kz.contains(shapely.Point(p["lon"], p["lat"])) for p in out["posts"])
        shares.append(out["intercepted_share"])
    assert shares == sorted(shares) and shares[-1] >= 0.8


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the CLI's contracts; the PostgreSQL race below
def test_plans_and_rosters_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    road, src, dst = two_towns(tmp_path)
    out = tmp_path / "plan.geojson"
    done = cli(env, "posts", "plan", "--roads", str(road), "--k", "2", "--sources", str(src), "--destinations",
               str(dst), "--out", str(out), "--brief", str(tmp_path / "brief.pdf"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {"posts", "intercepted_share", "gap", "method"} <= set(doc)
    assert {"lat", "lon", "road", "intercepted"} <= set(doc["posts"][0])
    assert doc["intercepted_share"] == pytest.approx(1.0) and len(doc["posts"]) == 2
    saved = json.loads(out.read_text())
    assert saved["type"] == "FeatureCollection" and {f["properties"]["kind"] for f in saved["features"]} >= {"post", "flow"}
    from pypdf import PdfReader

    text = PdfReader(tmp_path / "brief.pdf").pages[0].extract_text()
    assert "Мобильные посты" in text and "мост" in text
    again = cli(env, "posts", "plan", "--roads", str(road), "--k", "2", "--sources", str(src), "--destinations",
                str(dst), "--out", str(tmp_path / "plan2.kml"), "--json")  # fmt: skip
    assert again.returncode == 0 and json.loads(again.stdout)["plan_id"] == doc["plan_id"]  # stored once
    assert "<Placemark>" in (tmp_path / "plan2.kml").read_text()
    csv_path = tmp_path / "roster.csv"
    r1 = cli(env, "posts", "roster", str(out), "--days", "7", "--out", str(csv_path), "--seed", "5", "--json")
    assert r1.returncode == 0, r1.stderr
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) == 7 * 2 * 2 and {r["shift"] for r in rows} == {"08:00-20:00", "20:00-08:00"}
    first = csv_path.read_text()
    assert cli(env, "posts", "roster", "latest", "--days", "7", "--out", str(csv_path), "--seed", "5").returncode == 0
    assert csv_path.read_text() == first  # the same seed, the same roster
    cli(env, "posts", "roster", str(out), "--days", "7", "--out", str(csv_path), "--seed", "6")
    assert csv_path.read_text() != first
    listed = cli(env, "posts", "list", "--json")
    assert [json.loads(x)["id"] for x in listed.stdout.splitlines()] == [doc["plan_id"]]
    bad = cli(env, "posts", "roster", str(src), "--days", "3", "--out", str(csv_path))
    assert bad.returncode == 2 and "not a plan" in bad.stderr and "Traceback" not in bad.stderr
    k_big = cli(env, "posts", "plan", "--roads", str(road), "--k", "500", "--sources", str(src), "--out", str(out),
                "--destinations", str(dst))  # fmt: skip
    assert k_big.returncode == 2 and "only" in k_big.stderr and "Traceback" not in k_big.stderr
    from shekteu.runtime import Runtime
    from shekteu.settings import load_settings

    rt = Runtime(load_settings(env))
    with rt.db.read() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.action.like("posts.%")))]
    assert actions.count("posts.plan") == 1 and actions.count("posts.roster") == 3 and "posts.view" in actions


def test_volunteer_coordinators_may_not_plan_posts(env: dict[str, str], tmp_path: Path) -> None:
    road, src, dst = two_towns(tmp_path)
    added = cli(env, "users", "add", "cora", "--role", "coordinator", "--password-stdin", stdin="a-long-password-1\n")
    assert added.returncode == 0, added.stderr
    done = cli(env, "posts", "plan", "--roads", str(road), "--k", "1", "--sources", str(src), "--destinations", str(dst),
               "--out", str(tmp_path / "p.geojson"), "--as", "cora")  # fmt: skip
    assert done.returncode == 2 and "may not" in done.stderr and not (tmp_path / "p.geojson").exists()


def test_two_planners_storing_the_same_plan_at_once_keep_one(make_runtime, tmp_path: Path) -> None:
    from tests.races import Second, need_postgres

    rt = make_runtime()
    need_postgres(rt)
    road, src, dst = two_towns(tmp_path)
    result = build_plan(road, src, dst, k=1)
    second = Second(rt, lambda s: store.save(s, json.loads(json.dumps(result)), actor="cli:b"))
    with rt.db.write() as s:
        first, new = store.save(s, result, actor="cli:a")
        assert new
        assert second.start_and_wait_blocked()  # the second insert waits on the first's unique key
    second.thread.join(30)
    assert second.error is None and second.result[1] is False and second.result[0].id == first.id
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(PostPlan)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "posts.plan")) == 1


def test_an_evade_plan_keeps_its_rota_promise_in_the_evade_model(tmp_path: Path) -> None:
    _net, p = _grid_problem(tmp_path, 11)
    pure = placement.solve(p, 3, model="evade")
    m = rota.mix(p, pure.chosen, loss=0.2, model="evade")
    assert m.pure_share == pytest.approx(pure.share)
    exact = sum(pr * placement.value(p, pl, "evade") for pl, pr in zip(m.placements, m.probability, strict=True))
    assert exact / p.total == pytest.approx(m.expected_share, rel=1e-6) and m.expected_share >= 0.8 * pure.share - 1e-6


def test_sources_from_a_csv_of_coordinates(tmp_path: Path) -> None:
    table = tmp_path / "sites.csv"
    table.write_text(f"name,lat,lon,hectares\nA,{at(1, 1)[1]},{at(1, 1)[0]},12\n", encoding="utf-8")
    (place,) = flows.read_places(table, kind="source")
    assert place.weight == 12 and place.name == "A" and place.lon == pytest.approx(at(1, 1)[0])
    bare = tmp_path / "bare.csv"
    bare.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(PostsError, match="needs lat and lon columns"):
        flows.read_places(bare, kind="source")
