"""Figures side by side — year on year, region against region, release against release — and the
contradictions an analyst must see before quoting any of them:

- **sources disagree**: two documents give one measure for the same period and region different values
  (one release in two outlets with different numbers);
- **headline vs body**: a text's first line states a value its body states differently;
- **unit off by 1,000**: the same figure once in tonnes and once in kilograms ("тысяч тонн");
- **parts above the total**: seizures by substance that add up to more than the total seized, sales
  and cultivation above all drug crimes, transnational groups above all groups, and the like.

Everything works on figure dicts as ``store.figure_json`` writes them, so fresh extractions and stored
figures are checked the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shekteu.stats.store import period_bounds

NAMED = ("marijuana", "hashish", "heroin", "synthetic", "cocaine", "opium", "mephedrone", "a-PVP")
PARTS = [  # (total measure, part measures): the parts cannot add up to more than the total
    ("drug_crimes", ("sale_cases", "cultivation_cases", "smuggling_cases")),
    ("ocg_liquidated", ("transnational_ocg_liquidated",)),
    ("labs_liquidated", ("synthetic_labs_liquidated", "phyto_labs_liquidated")),
    ("drug_offences", ("drug_crimes",)),
]


def _src(f: dict[str, Any]) -> Any:
    return f["source"]["id"]


def _countable(f: dict[str, Any]) -> bool:
    return f.get("scope") != "case" and f.get("period") is not None


def checks(figs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contradictions among ``figs`` (each with its figures' ids and a sentence saying what is wrong)."""
    found: list[dict[str, Any]] = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for f in figs:
        if _countable(f):
            groups[(f["measure"], f.get("substance"), f["region"], f["period"])].append(f)
    for (measure, substance, region, period), rows in groups.items():
        by_source: dict[Any, set[float]] = defaultdict(set)
        for f in rows:
            by_source[_src(f)].add(round(f["base"], 6))
        values = sorted({v for vs in by_source.values() for v in vs})
        if len(by_source) < 2 or len(values) < 2 or _consistent(rows):
            continue
        lo, hi = values[0], values[-1]
        kind = "unit_off_by_1000" if lo > 0 and 900 <= hi / lo <= 1100 else "sources_disagree"
        found.append({"kind": kind, "measure": measure, "substance": substance, "region": region, "period": period,
                      "values": values, "figures": [f["id"] for f in rows], "documents": len(by_source),
                      "detail": f"{measure}{'/' + substance if substance else ''} {region} {period}: "
                                f"{', '.join(_fmt(v) for v in values)} in {len(by_source)} documents"})  # fmt: skip
    found += _headlines(figs) + _parts(figs)
    return found


def _consistent(rows: list[dict[str, Any]]) -> bool:
    """Whether the values can all be true at once: "более 4,6 тысяч" and 4,655 can; 6 and 9 cannot."""
    lo = max((f["base"] for f in rows if f.get("qualifier") == "gt"), default=0.0)
    exact = [f["base"] for f in rows if not f.get("qualifier")]
    approx = [f["base"] for f in rows if f.get("qualifier") == "approx"]
    if len({round(v, 6) for v in exact}) > 1:
        return False
    points = exact or approx
    if any(v < lo for v in exact) or (lo and not points):
        return not exact
    if exact and approx and any(abs(a - exact[0]) > 0.1 * max(a, exact[0]) for a in approx):
        return False
    return all(v <= lo * 1.25 or not lo for v in points) if lo else True


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:g}"


def _headlines(figs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    by_source: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for f in figs:
        if f.get("scope") != "case" and f.get("span") is not None:
            by_source[_src(f)].append(f)
    for rows in by_source.values():
        head = [f for f in rows if f["span"][0] < f.get("headline_end", 0)]
        body = [f for f in rows if f["span"][0] >= f.get("headline_end", 0)]
        for h in head:
            same = [b for b in body if b["measure"] == h["measure"] and b.get("substance") == h.get("substance")]
            if same and all(abs(b["base"] - h["base"]) > 1e-9 for b in same):
                near = min(same, key=lambda b: abs(b["base"] - h["base"]))
                if near["base"] and 0.5 <= h["base"] / near["base"] <= 2:
                    out.append({"kind": "headline_vs_body", "measure": h["measure"], "values": [h["base"], near["base"]],
                                "figures": [h["id"], near["id"]], "region": h["region"], "period": h.get("period"),
                                "source": h["source"].get("name"), "substance": h.get("substance"),
                                "detail": f"{h['measure']}: the headline says {_fmt(h['base'])}, the text "
                                          f"{_fmt(near['base'])} ({h['source'].get('name')})"})  # fmt: skip
    return out


def _parts(figs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    cells: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for f in figs:
        if f.get("scope") != "case":
            cells[(_src(f), f["region"], f.get("period"))].append(f)
    for rows in cells.values():
        totals = [f for f in rows if f["measure"] == "seized" and f.get("substance") == "drugs_total"]
        parts = {}
        for f in rows:
            if f["measure"] == "seized" and f.get("substance") in NAMED:
                parts[f["substance"]] = max(parts.get(f["substance"], 0), f["base"])
        for total in totals:
            slack = 1.1 if total.get("qualifier") in ("gt", "approx") else 1.001
            if parts and sum(parts.values()) > total["base"] * slack:
                out.append(_part_flag("seized", total, sum(parts.values()), rows))
        for whole, names in PARTS:
            tops = [f for f in rows if f["measure"] == whole]
            subs = [f for f in rows if f["measure"] in names]
            for top in tops:
                part_sum = sum(max((f["base"] for f in subs if f["measure"] == m), default=0) for m in names)
                slack = 1.1 if top.get("qualifier") in ("gt", "approx") else 1.0
                if subs and part_sum > top["base"] * slack:
                    out.append(_part_flag(whole, top, part_sum, rows))
    return out


def _part_flag(measure: str, total: dict[str, Any], part_sum: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "parts_above_total", "measure": measure, "values": [total["base"], part_sum],
            "figures": [f["id"] for f in rows], "region": total["region"], "period": total.get("period"),
            "source": total["source"].get("name"), "substance": total.get("substance"),
            "detail": f"{measure}: parts add up to {_fmt(part_sum)}, above the total {_fmt(total['base'])} "
                      f"({total['source'].get('name')})"}  # fmt: skip


def compare(figs: list[dict[str, Any]], by: str = "year") -> list[dict[str, Any]]:
    """Rows for one measure: per year (country figures, with the change on the year before) or per region."""
    if by not in ("year", "region"):
        from shekteu.stats import StatsError

        raise StatsError(f"--by {by}: use year or region")
    rows: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for f in figs:
        if f.get("scope") == "case" or not f.get("period"):
            continue
        if by == "year":
            if f["region"] == "KZ":
                rows[f["period"][:4]].append(f)
        else:
            rows[f["region"]].append(f)
    out = []
    previous = None
    for key in sorted(rows):
        group = rows[key]
        # a year: its longest-running count; a region: its most recent one (then the longest)
        best = max(group, key=lambda f: (_length(f["period"]), f["base"]) if by == "year" else
                   (period_bounds(f["period"])[1] or "", _length(f["period"]), f["base"]))  # fmt: skip
        row = {by: key, "value": best["value"], "unit": best["unit"], "base": best["base"], "period": best["period"],
               "qualifier": best.get("qualifier"), "sources": sorted({f["source"].get("outlet") or f["source"]["name"]
                                                                      for f in group}),
               "values": sorted({round(f["base"], 6) for f in group})}  # fmt: skip
        if by == "year" and previous and previous["base"] and _year_apart(previous["period"], best["period"]):
            row["change_pct"] = round(100 * (best["base"] - previous["base"]) / previous["base"], 1)
        previous = row if by == "year" else None
        out.append(row)
    return out


def _length(period: str) -> int:
    a, b = period_bounds(period)
    if not a or not b:
        return 0
    from datetime import date

    return (date.fromisoformat(b) - date.fromisoformat(a)).days


def _year_apart(a: str, b: str) -> bool:
    """Whether period ``b`` is period ``a`` one year later (Jan–Sep 2024 and Jan–Sep 2025): only then is a
    change on the year a fair comparison."""
    (a0, a1), (b0, b1) = period_bounds(a), period_bounds(b)
    if not (a0 and a1 and b0 and b1):
        return False
    return int(b0[:4]) - int(a0[:4]) == 1 and a0[4:] == b0[4:] and abs(int(a1[5:7]) - int(b1[5:7])) == 0
