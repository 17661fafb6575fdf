"""Scoring extracted figures against hand-written ones: precision, recall and F1.

A figure matches when its measure and value agree (masses compared in kg, so "1,5 тонны" = 1,500 kg),
and its substance too where the hand-written figure states one. Each hand-written figure matches at
most one extracted figure.
"""

from __future__ import annotations

from typing import Any

MASS_KG = {"t": 1000.0, "kg": 1.0, "g": 0.001}


def _key(f: dict[str, Any]) -> tuple[str, float]:
    value = float(f["value"]) * MASS_KG.get(f.get("unit", ""), 1.0)
    return str(f["measure"]), round(value, 6)


def score(gold: list[dict[str, Any]], found: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) for one text."""
    left = list(found)
    tp = 0
    for g in gold:
        for i, f in enumerate(left):
            if _key(f) == _key(g) and (not g.get("substance") or f.get("substance") == g.get("substance")):
                tp += 1
                del left[i]
                break
    return tp, len(left), len(gold) - tp


def figures(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}  # fmt: skip
