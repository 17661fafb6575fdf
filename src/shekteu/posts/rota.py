"""A randomised rota: where the posts stand each shift, so that couriers who watch cannot learn it.

ARMOR at Los Angeles airport (Pita et al., 2008) is the anchor: the defender commits to a *mixed*
strategy and draws each day's placement from it; a courier who watches for weeks learns the
probabilities, not tomorrow's posts. Here the mixed strategy is a distribution over a pool of good
placements — the optimum, every placement one move away from it, and the best placement with each
optimal stretch left out — each with its exact intercepted flow. A linear programme (HiGHS) picks
the distribution:

    maximise the entropy of where posts stand (the coverage of each stretch, piecewise-linear)
    subject to the expected intercepted flow ≥ (1 − loss) × the pure optimum,

so the interception it promises is exact, not an estimate. Each shift draws one placement and puts
each post at a random point along its stretch — every point of a stretch intercepts the same routes,
so that costs nothing and makes the spot itself unpredictable. Pool placements satisfy the spacing
and staffing constraints; spots are redrawn when two would stand closer than the spacing.

Against a courier who watches: each route's chance of meeting a post is known exactly, and such a
courier takes the least-watched of his plausible routes; both that figure and the pure plan's (which
a watcher simply drives around) are reported.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from shekteu.posts import PostsError

SEGMENTS = 10
POOL = 4_000
SHIFT_TIMES = {1: ["00:00-24:00"], 2: ["08:00-20:00", "20:00-08:00"], 3: ["06:00-14:00", "14:00-22:00", "22:00-06:00"]}


@dataclass
class Mix:
    placements: list[list[int]]
    probability: np.ndarray
    coverage: np.ndarray  # per candidate: chance of a post there in a shift
    target_loss: float
    expected_share: float
    pure_share: float
    entropy_bits: float  # of where posts stand (coverage / k)
    pure_entropy_bits: float
    watched_share: float  # against a courier who knows the mix and takes the least-watched route
    pure_watched_share: float
    max_coverage: float


def _h(c: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, -c * np.log(c), 0.0)


def entropy_bits(coverage: np.ndarray) -> float:
    k = coverage.sum()
    if k <= 0:
        return 0.0
    p = coverage[coverage > 0] / k
    return float(-(p * np.log2(p)).sum())


def _incidence(problem: Any):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix

    rg = problem.route_groups
    lengths = [len(g) for g in rg]
    rows = np.repeat(np.arange(len(rg)), lengths)
    cols = np.concatenate(rg) if rg else np.array([], int)
    return csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(rg), len(problem.groups)))


def hits(a, placements: list[list[int]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """(routes × placements) boolean: does the route meet a post of the placement."""
    from scipy.sparse import csr_matrix

    cols = np.repeat(np.arange(len(placements)), [len(pl) for pl in placements])
    rows = np.concatenate([np.asarray(pl, int) for pl in placements]) if placements else np.array([], int)
    x = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(a.shape[1], len(placements)))
    return (a @ x).toarray() > 0


def _feasible(pl: list[int], problem: Any, spacing_m: float, caps: dict[str, int]) -> bool:
    for kato, cap in caps.items():
        if sum(1 for g in pl if problem.district[g] == kato) > cap:
            return False
    if spacing_m > 0:
        xy = problem.point_xy[pl]
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(d, np.inf)
        if (d < spacing_m).any():
            return False
    return True


def pool(problem: Any, pure: list[int], *, fixed: list[int], spacing_m: float, caps: dict[str, int],
         alternatives: Any = None, limit: int = POOL) -> list[list[int]]:  # fmt: skip
    """The optimum, its one-move neighbours (a post moved to any other stretch), and ``alternatives``."""
    n = len(problem.groups)
    seen = {tuple(sorted(pure))}
    out = [sorted(pure)]
    movable = [g for g in pure if g not in set(fixed)]
    for extra in alternatives or []:
        key = tuple(sorted(extra))
        if key not in seen and _feasible(list(key), problem, spacing_m, caps):
            seen.add(key)
            out.append(list(key))
    for g in movable:
        for h in range(n):
            if h in pure:
                continue
            pl = sorted([x for x in pure if x != g] + [h])
            key = tuple(pl)
            if key not in seen and _feasible(pl, problem, spacing_m, caps):
                seen.add(key)
                out.append(pl)
            if len(out) >= limit:
                return out
    # two moves at once, drawn at random (reproducibly) until the pool is full
    rng = np.random.default_rng(2008)
    others = [h for h in range(n) if h not in set(pure)]
    for _ in range(3 * limit):
        if len(out) >= limit or len(movable) < 2 or len(others) < 2:
            break
        gone = rng.choice(movable, 2, replace=False).tolist()
        new = rng.choice(others, 2, replace=False).tolist()
        pl = sorted([x for x in pure if x not in gone] + new)
        key = tuple(pl)
        if key not in seen and _feasible(pl, problem, spacing_m, caps):
            seen.add(key)
            out.append(pl)
    return out


def _lp(cover: Any, values: np.ndarray, n: int, floor: float) -> np.ndarray:
    """Placement probabilities maximising the entropy of coverage with Σ p v ≥ floor."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, hstack, vstack

    m, s = len(values), SEGMENTS
    grid = np.linspace(0, 1, s + 1)
    slopes = np.diff(_h(grid)) * s
    # variables: p (m) then segments (n*s); coverage_g = sum_i p_i a_gi = sum_j seg_gj
    objective = np.concatenate([np.zeros(m), -np.tile(slopes, n)])
    link = hstack([coo_matrix(cover), -_segment_sum(n, s)])
    one = hstack([coo_matrix(np.ones((1, m))), coo_matrix((1, n * s))])
    a_eq = vstack([link, one]).tocsr()
    b_eq = np.concatenate([np.zeros(n), [1.0]])
    a_ub = hstack([coo_matrix(-values[None, :]), coo_matrix((1, n * s))]).tocsr()
    bounds = np.column_stack([np.zeros(m + n * s), np.concatenate([np.ones(m), np.full(n * s, 1 / s)])])
    res = linprog(objective, A_ub=a_ub, b_ub=[-floor], A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise PostsError(f"the rota's programme found no mixed strategy ({res.message})")
    p = np.clip(res.x[:m], 0, None)
    p[p < 1e-9] = 0
    return p / p.sum()


def _segment_sum(n: int, s: int):  # type: ignore[no-untyped-def]
    from scipy.sparse import coo_matrix

    return coo_matrix((np.ones(n * s), (np.repeat(np.arange(n), s), np.arange(n * s))), shape=(n, n * s))


def mix(problem: Any, pure: list[int], *, loss: float = 0.1, fixed: list[int] | None = None,
        caps: dict[str, int] | None = None, spacing_m: float = 0.0, alternatives: Any = None,
        model: str = "share") -> Mix:  # fmt: skip
    """The most unpredictable mix of placements whose expected interception (under the plan's courier
    ``model``) is within ``loss`` of ``pure``."""
    if not 0 <= loss < 1:
        raise PostsError("--loss must be between 0 and 1 (the share of interception traded for surprise)")
    n = len(problem.groups)
    total = problem.total or 1.0
    a = _incidence(problem)
    placements = pool(problem, pure, fixed=list(fixed or []), spacing_m=spacing_m, caps=caps or {},
                      alternatives=alternatives)  # fmt: skip
    h = hits(a, placements)  # routes x placements
    values = problem.route_flow @ h if model == "share" else _evade_values(problem, h)
    pure_value = float(values[0])
    if loss > 0 and len(placements) > 1:
        from scipy.sparse import csr_matrix

        rows = np.concatenate([np.asarray(pl, int) for pl in placements])
        cols = np.repeat(np.arange(len(placements)), [len(pl) for pl in placements])
        cover = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(placements)))  # stretch x placement
        prob = _lp(cover, values, n, (1 - loss) * pure_value)
    else:
        prob = np.zeros(len(placements))
        prob[0] = 1
    keep = np.flatnonzero(prob > 0)
    placements = [placements[i] for i in keep]
    prob, h, values = prob[keep], h[:, keep], values[keep]
    coverage = np.zeros(n)
    for pl, pr in zip(placements, prob.tolist(), strict=True):
        coverage[pl] += pr
    p_hit = h @ prob
    pure_hit = hits(a, [sorted(pure)])[:, 0].astype(float)
    k = max(len(pure), 1)
    return Mix(placements, prob, coverage, loss, float(values @ prob) / total, pure_value / total,
               entropy_bits(coverage), math.log2(k), _watched(p_hit, problem.route_flow, problem.route_pair) / total,
               _watched(pure_hit, problem.route_flow, problem.route_pair) / total, float(coverage.max()))  # fmt: skip


def _evade_values(problem: Any, h: np.ndarray) -> np.ndarray:
    """Flow of the pairs whose every route meets a post, per placement (columns of ``h``)."""
    pair_flow = np.bincount(problem.route_pair, weights=problem.route_flow)
    missed = np.zeros((len(pair_flow), h.shape[1]), bool)
    np.logical_or.at(missed, problem.route_pair, ~h)
    return pair_flow @ ~missed


def _watched(p_hit: np.ndarray, route_flow: np.ndarray, route_pair: np.ndarray) -> float:
    pair_flow = np.bincount(route_pair, weights=route_flow)
    worst = np.ones(len(pair_flow))
    np.minimum.at(worst, route_pair, p_hit)
    return float((pair_flow * worst).sum())


# --- the roster ----------------------------------------------------------------------------------


def roster(rota: dict[str, Any], *, days: int, start: date, seed: int | None,
           shifts: int = 2) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Rows (date, shift, post, lat, lon, road, kato, probability) and a summary of the draw."""
    if days < 1 or days > 3660:
        raise PostsError("--days must be between 1 and 3660")
    if shifts not in SHIFT_TIMES:
        raise PostsError(f"--shifts must be one of {', '.join(map(str, SHIFT_TIMES))}")
    try:
        options = rota["options"]
        placements = [list(map(int, pl)) for pl in rota["placements"]]
        prob = np.array(rota["probability"], float)
        spacing_m = float(rota.get("spacing_m") or 0)
    except (KeyError, TypeError, ValueError):
        raise PostsError("the plan holds no rota (plan again with `shekteu posts plan`)") from None
    if not placements or len(prob) != len(placements) or prob.sum() <= 0 or (prob < 0).any() or any(
        g < 0 or g >= len(options) for pl in placements for g in pl
    ):
        raise PostsError("the plan's rota is damaged (placements and probabilities do not match)")
    rng = np.random.default_rng(seed)
    prob = prob / prob.sum()
    rows: list[dict[str, Any]] = []
    drawn: dict[int, int] = {}
    strained = 0
    for day in range(days):
        when = start + timedelta(days=day)
        for hours in SHIFT_TIMES[shifts]:
            i = int(rng.choice(len(placements), p=prob))
            drawn[i] = drawn.get(i, 0) + 1
            chosen = placements[i]
            for _attempt in range(50):
                points = [_spot(options[g], rng) for g in chosen]
                if _spaced(points, spacing_m):
                    break
            else:
                strained += 1
            for n, (g, (lon, lat, road)) in enumerate(zip(chosen, points, strict=True), 1):
                rows.append({"date": when.isoformat(), "shift": hours, "post": n, "lat": round(lat, 6),
                             "lon": round(lon, 6), "road": road, "kato": options[g].get("kato", ""),
                             "probability": round(float(options[g].get("coverage", 0)), 4)})  # fmt: skip
    counts = np.array(list(drawn.values()), float)
    p = counts / counts.sum()
    spots = {(r["lat"], r["lon"]) for r in rows}
    summary = {"shifts": days * shifts, "distinct_placements": len(drawn), "distinct_spots": len(spots),
               "placement_entropy_bits": round(float(-(p * np.log2(p)).sum()), 3),
               "spacing_unmet_shifts": strained}  # fmt: skip
    return rows, summary


def _spot(option: dict[str, Any], rng: np.random.Generator) -> tuple[float, float, str]:
    edges = option["edges"]
    lengths = np.array([max(float(e.get("length_m", 1.0)), 1.0) for e in edges])
    e = edges[int(rng.choice(len(edges), p=lengths / lengths.sum()))]
    coords = np.asarray(e["coords"], float)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = rng.uniform(0.15, 0.85) * cum[-1]
    i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(coords) - 2))
    t = 0.0 if seg[i] <= 0 else (s - cum[i]) / seg[i]
    lon, lat = coords[i] + t * (coords[i + 1] - coords[i])
    return float(lon), float(lat), str(e.get("road", ""))


def _spaced(points: list[tuple[float, float, str]], spacing_m: float) -> bool:
    if spacing_m <= 0:
        return True
    return all(_metres(points[i], points[j]) >= spacing_m for i in range(len(points)) for j in range(i + 1, len(points)))


def _metres(a: tuple[float, float, str], b: tuple[float, float, str]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["date", "shift", "post", "lat", "lon", "road", "kato", "probability"])
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (str(v).lstrip("=+-@\t\r") if isinstance(v, str) else v) for k, v in r.items()})
    return buf.getvalue()
