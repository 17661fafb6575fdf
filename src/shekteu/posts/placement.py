"""Choosing k posts that intercept the most flow: the flow-capturing location model (Hodgson, 1990).

A post on a road stretch stops every route that uses it. Road edges that carry exactly the same set of
routes are one candidate (a post anywhere along a chain between junctions intercepts the same
traffic), which shrinks the problem by orders of magnitude on a real network. Two courier models:

- ``share`` — flow splits over a pair's plausible routes; each route is intercepted when it meets a
  post (Hodgson's model with route alternatives);
- ``evade`` — couriers who know where the posts stand take an unwatched route if one exists, so a pair
  counts only when every plausible route meets a post (network interdiction).

The exact answer is an integer programme solved by HiGHS (through SciPy) within a time limit, with
the optimality gap HiGHS proves. Where the programme is too large the greedy rule is used: it is
within (1 − 1/e) of the optimum for the ``share`` model (the objective is submodular), and the gap
reported is measured against the a-posteriori bound f(S) + Σ of the k best remaining gains.
Constraints: fixed posts, forbidden stretches (edges left out of the candidates), a minimum spacing
between posts, and a staffing cap per district.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shekteu.posts import PostsError
from shekteu.posts.flows import Flows
from shekteu.posts.roads import Roads

MODELS = ("share", "evade")
EXACT_NONZEROS = 2_000_000  # above this the integer programme is not attempted
GREEDY_GUARANTEE = 1 - 1 / np.e


@dataclass
class Problem:
    groups: list[np.ndarray]  # edge ids of each candidate
    rep_edge: np.ndarray
    point: np.ndarray  # (G, 2) lon/lat of each candidate's post point
    point_xy: np.ndarray
    group_of_edge: np.ndarray  # -1: carries no flow or forbidden
    route_groups: list[np.ndarray]  # per route of the flows
    route_flow: np.ndarray
    route_pair: np.ndarray
    total: float
    district: list[str] = field(default_factory=list)  # KATO of each candidate's point ("" outside)


@dataclass
class Solution:
    chosen: list[int]
    value: float
    share: float
    gap: float | None
    method: str
    seconds: float
    model: str
    notes: list[str] = field(default_factory=list)


def problem(roads: Roads, flows: Flows, *, forbidden: set[int] | None = None, districts: bool = True) -> Problem:
    """Candidates from the routes' edges (minus ``forbidden`` edges), merged by identical route sets."""
    forbidden = forbidden or set()
    rng = np.random.default_rng(12345)
    n_routes = len(flows.routes)
    h1 = rng.integers(1, 2**63, size=n_routes, dtype=np.uint64)
    h2 = rng.integers(1, 2**63, size=n_routes, dtype=np.uint64)
    lengths = [len(r.edges) for r in flows.routes]
    all_edges = np.concatenate([r.edges for r in flows.routes]) if n_routes else np.array([], int)
    owner = np.repeat(np.arange(n_routes), lengths)
    # a route can pass an edge once only on a simple path, so sums of random keys identify route sets
    sig1 = np.zeros(roads.edges, np.uint64)
    sig2 = np.zeros(roads.edges, np.uint64)
    with np.errstate(over="ignore"):
        np.add.at(sig1, all_edges, h1[owner])
        np.add.at(sig2, all_edges, h2[owner])
    count = np.bincount(all_edges, minlength=roads.edges)
    usable = count > 0
    if forbidden:
        usable[list(forbidden)] = False
    edges = np.flatnonzero(usable)
    keys = np.column_stack([sig1[edges], sig2[edges], count[edges].astype(np.uint64)])
    _u, group_idx = np.unique(keys, axis=0, return_inverse=True)
    group_idx = group_idx.reshape(-1)
    group_of_edge = np.full(roads.edges, -1)
    group_of_edge[edges] = group_idx
    n_groups = int(group_idx.max()) + 1 if len(edges) else 0
    order = np.argsort(group_idx, kind="stable")
    splits = np.cumsum(np.bincount(group_idx, minlength=n_groups))[:-1]
    groups = np.split(edges[order], splits) if n_groups else []
    rep = np.array([g[np.argmax(roads.length_m[g])] for g in groups], int)
    point = np.array([_midpoint(roads.geometry[e]) for e in rep]) if len(rep) else np.zeros((0, 2))
    point_xy = roads.to_xy(point[:, 0], point[:, 1]) if len(rep) else np.zeros((0, 2))
    route_groups = [np.unique(group_of_edge[r.edges][group_of_edge[r.edges] >= 0]) for r in flows.routes]
    kato = []
    if districts and len(rep):
        from shekteu.geo import boundaries

        areas = boundaries.load()
        for lon, lat in point.tolist():
            kato.append(next((a.kato for a in areas if a.contains(lat, lon)), ""))
    return Problem(groups, rep, point, point_xy, group_of_edge, route_groups,
                   np.array([r.flow for r in flows.routes]), np.array([r.pair for r in flows.routes]),
                   flows.total, kato)  # fmt: skip


def _midpoint(coords: np.ndarray) -> tuple[float, float]:
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = cum[-1] / 2
    i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(coords) - 2))
    t = 0.0 if seg[i] <= 0 else (s - cum[i]) / seg[i]
    x, y = coords[i] + t * (coords[i + 1] - coords[i])
    return float(x), float(y)


def value(p: Problem, chosen: list[int] | set[int], model: str = "share") -> float:
    """Flow intercepted by posts on ``chosen`` candidates under ``model``."""
    chosen = set(chosen)
    hit = np.array([bool(chosen.intersection(g.tolist())) for g in p.route_groups])
    if model == "share":
        return float(p.route_flow[hit].sum())
    pair_flow = np.bincount(p.route_pair, weights=p.route_flow)
    missed = np.zeros(len(pair_flow), bool)
    np.logical_or.at(missed, p.route_pair, ~hit)
    return float(pair_flow[~missed].sum())


@dataclass
class Constraints:
    fixed: list[int] = field(default_factory=list)  # candidates that must hold a post
    spacing_m: float = 0.0
    caps: dict[str, int] = field(default_factory=dict)  # KATO -> most posts in that district
    excluded: set[int] = field(default_factory=set)  # candidates that may not hold a post

    def conflicts(self, p: Problem) -> list[tuple[int, int]]:
        if self.spacing_m <= 0 or len(p.point_xy) < 2:
            return []
        from scipy.spatial import cKDTree

        return sorted(cKDTree(p.point_xy).query_pairs(self.spacing_m))


def _rows(p: Problem, model: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Coverage rows: (groups of each row, the y variable of each row, flow of each y)."""
    if model == "share":
        merged: dict[bytes, int] = {}
        sets, flows = [], []
        for g, f in zip(p.route_groups, p.route_flow.tolist(), strict=True):
            if not len(g):
                continue
            key = g.tobytes()
            if key in merged:
                flows[merged[key]] += f
            else:
                merged[key] = len(sets)
                sets.append(g)
                flows.append(f)
        return sets, np.arange(len(sets)), np.array(flows)
    pair_flow = np.bincount(p.route_pair, weights=p.route_flow)
    blocked = {int(q) for q, g in zip(p.route_pair.tolist(), p.route_groups, strict=True) if not len(g)}
    pairs = [q for q in range(len(pair_flow)) if q not in blocked and pair_flow[q] > 0]
    var = {q: i for i, q in enumerate(pairs)}
    sets, owners = [], []
    for q, g in zip(p.route_pair.tolist(), p.route_groups, strict=True):
        if q in var:
            sets.append(g)
            owners.append(var[q])
    return sets, np.array(owners, int), pair_flow[pairs]


def solve(
    p: Problem,
    k: int,
    *,
    model: str = "share",
    constraints: Constraints | None = None,
    time_limit: float = 60.0,
    method: str = "auto",
) -> Solution:
    """The best k posts; ``method`` auto (exact when it fits), ilp or greedy."""
    if model not in MODELS:
        raise PostsError(f"unknown courier model {model!r}; use {' or '.join(MODELS)}")
    c = constraints or Constraints()
    n = len(p.groups)
    if k < 1:
        raise PostsError("k must be at least 1")
    if n == 0:
        raise PostsError("no road stretch carries any flow: no post can intercept anything")
    if k > n:
        raise PostsError(f"k={k} posts but only {n} distinct road stretches carry flow; a post on each "
                         f"stretch already intercepts everything — use k ≤ {n}")  # fmt: skip
    if len(set(c.fixed)) > k:
        raise PostsError(f"{len(set(c.fixed))} fixed posts but k={k}")
    started = time.perf_counter()
    sets, owner, flow = _rows(p, model)
    nonzeros = sum(len(s) for s in sets) + len(c.conflicts(p)) * 2 + n
    if method == "ilp" or (method == "auto" and nonzeros <= EXACT_NONZEROS):
        sol = _ilp(p, k, model, c, sets, owner, flow, time_limit)
        if sol is not None:
            sol.seconds = time.perf_counter() - started
            return sol
    sol = _greedy(p, k, model, c, sets, owner, flow)
    sol.seconds = time.perf_counter() - started
    return sol


def _ilp(p, k, model, c, sets, owner, flow, time_limit) -> Solution | None:  # type: ignore[no-untyped-def]
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    n, m = len(p.groups), len(flow)
    lengths = np.array([len(s) for s in sets], int)
    rows = np.repeat(np.arange(len(sets)), lengths)
    cols = np.concatenate(sets) if sets else np.array([], int)
    # y_owner - sum x_g <= 0 for every coverage row
    cover = coo_matrix((np.concatenate([-np.ones(len(cols)), np.ones(len(sets))]),
                        (np.concatenate([rows, np.arange(len(sets))]), np.concatenate([cols, n + owner]))),
                       shape=(len(sets), n + m))  # fmt: skip
    blocks = [cover]
    lb, ub = [np.full(len(sets), -np.inf)], [np.zeros(len(sets))]
    tight = not (c.spacing_m > 0 or c.caps)
    blocks.append(coo_matrix((np.ones(n), (np.zeros(n, int), np.arange(n))), shape=(1, n + m)))
    lb.append(np.array([k if tight else 0.0]))
    ub.append(np.array([float(k)]))
    conflicts = c.conflicts(p)
    if conflicts:
        a = np.array(conflicts, int)
        r = np.repeat(np.arange(len(a)), 2)
        blocks.append(coo_matrix((np.ones(2 * len(a)), (r, a.reshape(-1))), shape=(len(a), n + m)))
        lb.append(np.full(len(a), -np.inf))
        ub.append(np.ones(len(a)))
    for kato, cap in c.caps.items():
        members = [g for g, d in enumerate(p.district) if d == kato]
        if members:
            blocks.append(coo_matrix((np.ones(len(members)), (np.zeros(len(members), int), members)), shape=(1, n + m)))
            lb.append(np.array([-np.inf]))
            ub.append(np.array([float(cap)]))
    lower = np.zeros(n + m)
    lower[list(set(c.fixed))] = 1
    upper = np.ones(n + m)
    upper[list(c.excluded - set(c.fixed))] = 0
    objective = np.concatenate([np.zeros(n), -flow])
    integrality = np.concatenate([np.ones(n), np.zeros(m)])
    res = milp(objective, integrality=integrality, bounds=Bounds(lower, upper),
               constraints=LinearConstraint(vstack(blocks).tocsr(), np.concatenate(lb), np.concatenate(ub)),
               options={"time_limit": float(time_limit), "mip_rel_gap": 1e-6, "presolve": True})  # fmt: skip
    if res.status == 2:
        raise PostsError("no placement satisfies the constraints (fixed posts closer than the spacing, "
                         "or more fixed posts in a district than its staffing)")  # fmt: skip
    if res.x is None:
        return None
    chosen = sorted(int(g) for g in np.flatnonzero(res.x[:n] > 0.5))
    val = value(p, chosen, model)
    gap = float(res.mip_gap) if getattr(res, "mip_gap", None) is not None else None
    if res.status == 0:
        gap = max(0.0, gap or 0.0)
    method = "ilp" if res.status == 0 else "ilp-time-limit"
    notes = [] if res.status == 0 else [f"stopped at the {time_limit:.0f} s limit; the gap is HiGHS's proven bound"]
    return Solution(chosen, val, val / p.total if p.total else 0.0, gap, method, 0.0, model, notes)


def _greedy(p, k, model, c, sets, owner, flow) -> Solution:  # type: ignore[no-untyped-def]
    n = len(p.groups)
    members: list[list[int]] = [[] for _ in range(n)]
    for row, s in enumerate(sets):
        for g in s.tolist():
            members[g].append(row)
    need = np.bincount(owner, minlength=len(flow)) if model == "evade" else np.ones(len(flow))
    row_done = np.zeros(len(sets), bool)
    covered_rows = np.zeros(len(flow))
    conflicts: dict[int, set[int]] = {}
    for a, b in c.conflicts(p):
        conflicts.setdefault(a, set()).add(b)
        conflicts.setdefault(b, set()).add(a)
    used_cap: dict[str, int] = {}
    chosen: list[int] = []
    blocked: set[int] = set()

    def gain(g: int) -> float:
        rows = [r for r in members[g] if not row_done[r]]
        if model == "share":
            return float(flow[owner[rows]].sum()) if rows else 0.0
        return float(sum(flow[owner[r]] / need[owner[r]] for r in rows))

    def take(g: int) -> None:
        chosen.append(g)
        for r in members[g]:
            if not row_done[r]:
                row_done[r] = True
                covered_rows[owner[r]] += 1
        blocked.update(conflicts.get(g, ()))
        d = p.district[g] if p.district else ""
        used_cap[d] = used_cap.get(d, 0) + 1

    def allowed(g: int) -> bool:
        d = p.district[g] if p.district else ""
        return (g not in blocked and g not in chosen and g not in c.excluded
                and (d not in c.caps or used_cap.get(d, 0) < c.caps[d]))  # fmt: skip

    for g in dict.fromkeys(c.fixed):
        take(g)
    heap = [(-gain(g), g) for g in range(n)]
    heapq.heapify(heap)
    while len(chosen) < k and heap:
        _neg, g = heapq.heappop(heap)
        if not allowed(g):
            continue
        fresh = gain(g)
        if heap and fresh < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-fresh, g))
            continue
        take(g)
    val = value(p, chosen, model)
    gap = None
    if model == "share":  # submodular: OPT <= f(S) + sum of the k best marginal gains
        rest = sorted((gain(g) for g in range(n) if g not in chosen), reverse=True)[: k - len(set(c.fixed))]
        bound = val + sum(rest)
        gap = 0.0 if bound <= 0 else max(0.0, (bound - val) / bound)
    notes = [f"greedy: at least {GREEDY_GUARANTEE:.1%} of the optimum by construction"] if model == "share" else (
        ["greedy on a surrogate gain: no guarantee for the evade model"])  # fmt: skip
    if len(chosen) < k:
        notes.append(f"only {len(chosen)} posts fit the spacing and staffing constraints")
    return Solution(chosen, val, val / p.total if p.total else 0.0, gap, "greedy", 0.0, model, notes)


def attribution(p: Problem, flows: Flows, chosen: list[int]) -> dict[int, float]:
    """Flow stopped at each chosen post: a route is stopped at the first post it meets from its source."""
    where = {g: 0.0 for g in chosen}
    chosen_set = set(chosen)
    for r in flows.routes:
        for g in p.group_of_edge[r.edges].tolist():
            if g in chosen_set:
                where[g] += r.flow
                break
    return where


def describe(p: Problem, roads: Roads, g: int) -> dict[str, Any]:
    e = int(p.rep_edge[g])
    lon, lat = p.point[g]
    return {"lat": round(float(lat), 6), "lon": round(float(lon), 6), "road": roads.road[e] or "",
            "kato": p.district[g] if p.district else "",
            "stretch_km": round(float(roads.length_m[p.groups[g]].sum()) / 1000, 2)}  # fmt: skip
