"""Bar geometry for the overview's funnel and trend charts, drawn as inline SVG by the templates.

Server-drawn SVG needs no chart library, no script and no inline styles (the CSP forbids them), and
reads the same in every browser and in screenshots.
"""

from __future__ import annotations

from typing import Any


def funnel_bars(
    steps: list[dict[str, Any]], width: float = 520.0, height: float = 26.0
) -> list[dict[str, Any]]:
    top = max((s["count"] for s in steps), default=0) or 1
    bars = []
    for i, step in enumerate(steps):
        w = max(2.0, width * step["count"] / top) if step["count"] else 0.0
        share = step["count"] / steps[0]["count"] if steps and steps[0]["count"] else None
        bars.append({**step, "x": (width - w) / 2, "y": i * (height + 8), "w": round(w, 1), "h": height,
                     "share": None if share is None else round(100 * share, 1)})  # fmt: skip
    return bars


def week_bars(counts: list[int], width: float = 360.0, height: float = 80.0) -> list[dict[str, Any]]:
    top = max(counts, default=0) or 1
    step = width / max(1, len(counts))
    return [{"x": round(i * step + 1, 1), "w": round(step - 2, 1), "h": round(height * n / top, 1),
             "y": round(height - height * n / top, 1), "n": n} for i, n in enumerate(counts)]  # fmt: skip


def shop_graph(shop: dict[str, Any], size: float = 520.0, most: int = 24) -> dict[str, Any]:
    """A radial picture of a shop: the shop in the middle, its indicators around it (edge width grows with
    mentions), and on the outer ring the shops merged into it, separated from it or suggested for it."""
    import math

    c = size / 2
    inds = sorted(shop["indicators"], key=lambda i: -i.get("mentions", 0))[:most]
    top = max((i.get("mentions", 0) for i in inds), default=1) or 1
    nodes = []
    for k, ind in enumerate(inds):
        a = 2 * math.pi * k / max(1, len(inds)) - math.pi / 2
        r = c * 0.58
        nodes.append({"x": round(c + r * math.cos(a), 1), "y": round(c + r * math.sin(a), 1),
                      "label": f"{ind['type']}:{ind['normalized']}", "type": ind["type"],
                      "w": round(1 + 4 * ind.get("mentions", 0) / top, 1), "mentions": ind.get("mentions", 0)})  # fmt: skip
    others = ([(i, "merged") for i in shop.get("merged_from", [])] + [(i, "separated") for i in shop.get("separated_from", [])]
              + [(next(x for x in s["shops"] if x != shop["id"]), "suggested") for s in shop.get("suggestions", [])])  # fmt: skip
    ring = []
    for k, (other, how) in enumerate(others[:16]):
        a = 2 * math.pi * (k + 0.5) / max(1, min(len(others), 16)) - math.pi / 2
        ring.append({"x": round(c + c * 0.9 * math.cos(a), 1), "y": round(c + c * 0.9 * math.sin(a), 1),
                     "id": other, "how": how})  # fmt: skip
    return {
        "size": size,
        "c": c,
        "nodes": nodes,
        "ring": ring,
        "more": max(0, len(shop["indicators"]) - most),
    }
