"""Checkpoint planning: interception against k on the real Shu-valley corridors, the solver's gap and
time on a 100,000-edge generated network, and the rota's surprise against its interception loss.

Prints, on this machine:
1. **Shu valley** (real OSM corridors, border and settlements, ODbL; ``tests/data/posts``): intercepted
   share for k = 1…8 by the exact solver and by greedy, with each one's gap and time. The sources are
   stand-ins (20 points drawn inside the five Chu-valley districts, 63,000 ha shared equally: there is
   no real hemp-site layer to plan on), destinations are the settlements, the road ends at the edge
   of the data and the border crossings; posts must stand inside Kazakhstan.
2. **Scale**: a 224 × 224 road grid (~95,000 edges, 500 m) with 50 sources and 40 towns: time to
   build the graph, route, and solve for k = 10 exactly and greedily, with the proven gaps.
3. **Rota**: for k = 6 in the Shu valley, the interception and the surprise (entropy of where posts
   stand, bits) as the allowed loss grows, and what a courier who watches the posts gets through.

Run: python bench/posts.py [--skip-scale]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shekteu.posts import flows, placement, plan, roads, rota, synth  # noqa: E402
from shekteu.posts.flows import Place  # noqa: E402

SHU = ROOT / "tests" / "data" / "posts" / "shu_valley_roads.gpkg"


def shu(tmp: Path) -> tuple[roads.Roads, list[Place], list[Place], object]:
    import pyogrio.raw
    import shapely

    net = roads.load(SHU, layer="republic_roads_osm", dedupe_m=1000, snap_m=1500, border=SHU)
    _m, _f, wkb, _v = pyogrio.raw.read(str(SHU), layer="kz_territory_clip")
    kz = shapely.from_wkb(wkb[0])
    src = flows.read_places(synth.write(tmp / "src.geojson", synth.district_sources()), kind="source")
    _m, _f, wkb, values = pyogrio.raw.read(str(SHU), layer="settlements_hotosm")
    fields = {n: v for n, v in zip(_m["fields"], values, strict=True)}
    dst = flows.outlets(net)
    for g, pop, place, name in zip(shapely.from_wkb(wkb), fields["population"], fields["place"], fields["name"],
                                   strict=True):  # fmt: skip
        weight = float(pop) if pop not in (None, "") else flows.PLACE_POPULATION.get(str(place), 100)
        dst.append(Place(g.x, g.y, weight, str(name or ""), "settlement"))
    return net, src, dst, kz


def shu_figures(tmp: Path) -> None:
    net, src, dst, kz = shu(tmp)
    print(f"\n1. Shu valley: {net.stats['km']:.0f} km of road after dropping copies ({net.stats['km_read']:.0f} km "
          f"read), {net.edges} edges, {len(net.crossings)} border crossings; {len(src)} stand-in sources, "
          f"{len(dst)} destinations")  # fmt: skip
    f = flows.route(net, src, dst, max_access_m=60_000)
    forbidden = plan._forbidden(net, plan.Options(k=1, inside=kz))
    p = placement.problem(net, f, forbidden=forbidden)
    print(f"   {len(f.routes)} routes, {len(p.groups)} candidate stretches inside KZ, "
          f"{f.unrouted / (f.unrouted + f.total):.0%} of source weight farther than 60 km from a road")  # fmt: skip
    print("   k   exact share   gap    s      greedy share   gap    s     evade (exact)")
    for k in range(1, 9):
        e = placement.solve(p, k, method="ilp")
        g = placement.solve(p, k, method="greedy")
        v = placement.solve(p, k, method="ilp", model="evade")
        print(f"   {k}   {e.share:11.1%}   {e.gap:5.1%}  {e.seconds:5.2f}   {g.share:11.1%}   {g.gap:5.1%}  "
              f"{g.seconds:5.2f}   {v.share:8.1%}")  # fmt: skip
    print("\n3. Rota, k = 6 (Shu valley): surprise against interception")
    pure = placement.solve(p, 6)
    print("   loss allowed   expected share   surprise, bits   watched courier   most-watched stretch   placements")
    for loss in (0.0, 0.05, 0.1, 0.2, 0.3):
        m = rota.mix(p, pure.chosen, loss=loss)
        print(f"   {loss:12.0%}   {m.expected_share:14.1%}   {m.entropy_bits:14.2f}   {m.watched_share:15.1%}   "
              f"{m.max_coverage:20.0%}   {len(m.placements):10d}")  # fmt: skip
    print(f"   (fixed posts: {np.log2(6):.2f} bits; a courier who watches fixed posts gets through with "
          f"{1 - m.pure_watched_share:.1%} of the flow)")  # fmt: skip


def scale_figures() -> None:
    n = 224
    rng = np.random.default_rng(0)
    lon0, lat0 = 73.0, 43.5
    span = (n - 1) * 0.5
    t = time.perf_counter()
    feats = synth.grid(n, n, spacing_km=0.5, lon0=lon0, lat0=lat0, drop=0.05, seed=1)
    lines = [roads.Line(np.array(f["geometry"]["coordinates"]), f["properties"]["name"], "tertiary") for f in feats]
    net = roads.build(lines)
    built = time.perf_counter() - t
    src = [Place(*synth.offset(lon0, lat0, rng.uniform(0, span * 0.4), rng.uniform(0, span)), rng.uniform(1, 10))
           for _ in range(50)]  # fmt: skip
    dst = [Place(*synth.offset(lon0, lat0, rng.uniform(span * 0.6, span), rng.uniform(0, span)), rng.uniform(100, 1e4),
                 kind="settlement") for _ in range(40)] + flows.outlets(net)  # fmt: skip
    t = time.perf_counter()
    f = flows.route(net, src, dst, routes=3)
    routed = time.perf_counter() - t
    p = placement.problem(net, f, districts=False)
    print(f"\n2. Scale: {net.edges:,} edges, {len(net.node_xy):,} nodes; built in {built:.1f} s, "
          f"{len(f.routes):,} routes in {routed:.1f} s, {len(p.groups):,} candidate stretches")  # fmt: skip
    for method in ("ilp", "greedy"):
        s = placement.solve(p, 10, method=method, time_limit=120)
        print(f"   k=10 {method:6s}: share {s.share:.1%}, gap {s.gap:.2%}, {s.seconds:.1f} s ({s.method})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shu_figures(Path(tmp))
    if not args.skip_scale:
        scale_figures()


if __name__ == "__main__":
    main()
