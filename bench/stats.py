"""Operation statistics: how well `stats extract` finds the figures of real press releases, and how fast.

Prints, on this machine, for the hand-labelled development releases (``tests/data/stats``, a copy of
``shared/data/stats``): precision, recall and F1 of figures (a figure matches on measure and value,
masses compared in kg, and substance where the hand-written figure states one), overall and per
language, the measures most often missed or invented, and texts per second on one core.

The extraction rules were written reading these very texts, so the F1 here is an upper bound —
releases the rules never saw (the held-out split) will score lower.

Run: python bench/stats.py [--data DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shekteu.stats.evaluate import _key, figures, score  # noqa: E402
from shekteu.stats.extract import extract  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "stats")
    args = ap.parse_args()
    texts = [json.loads(x) for x in (args.data / "texts_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = (args.data / "figures_dev.jsonl").read_text(encoding="utf-8").splitlines()
    gold = {r["id"]: r["figures"] for r in map(json.loads, lines)}
    totals: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    missed: collections.Counter[str] = collections.Counter()
    invented: collections.Counter[str] = collections.Counter()
    for t in texts:
        found = [f.as_json() for f in extract(t["text"], t.get("date"))]
        tp, fp, fn = score(gold[t["id"]], found)
        for key in ("all", t["lang"]):
            totals[key][0] += tp
            totals[key][1] += fp
            totals[key][2] += fn
        gk = {_key(g) for g in gold[t["id"]]}
        fk = {_key(f) for f in found}
        missed.update(k[0] for k in gk - fk)
        invented.update(k[0] for k in fk - gk)
    print(f"{len(texts)} development releases, {sum(len(v) for v in gold.values())} hand-written figures")
    print("  set        precision  recall   F1     (tp/fp/fn)")
    for key, (tp, fp, fn) in sorted(totals.items(), key=lambda kv: kv[0] != "all"):
        f = figures(tp, fp, fn)
        print(f"  {key:9s}  {f['precision']:9.3f}  {f['recall']:6.3f}  {f['f1']:.3f}  ({tp}/{fp}/{fn})")
    print("  most missed:  ", ", ".join(f"{m} {n}" for m, n in missed.most_common(6)) or "-")
    print("  most invented:", ", ".join(f"{m} {n}" for m, n in invented.most_common(6)) or "-")
    start = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for t in texts:
            extract(t["text"], t.get("date"))
    rate = rounds * len(texts) / (time.perf_counter() - start)
    chars = sum(len(t["text"]) for t in texts) / len(texts)
    print(f"speed: {rate:.0f} texts/s on one core (mean {chars:.0f} characters a text; aim ≥ 100)")


if __name__ == "__main__":
    main()
