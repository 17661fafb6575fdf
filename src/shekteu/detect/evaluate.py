"""Evaluation that predicts how the detector does on messages it never saw (issue 21).

Plain k-fold cross-validation on the development set scored F1 0.81 while real held-out messages
from the same sources scored 0.59: near-copies of one spam template fall on both sides of a fold,
and every fold has seen every source. The splits here remove both shortcuts:

* **grouped folds** — messages whose character 4-gram sets overlap (Jaccard ≥ 0.5) form one group,
  and a group never straddles the train/test line;
* **leave one source out** — each source (a repository the messages came from) is scored by a model
  trained on all the others, the closest we get to "a new channel the model never heard of";
* **calibration** — how well ``score`` reads as a probability (reliability table, expected
  calibration error, Brier score), so a threshold an analyst picks means what it says.

Everything returns plain rows, which ``bench/detect.py`` and ``shekteu model train --cv`` print.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shekteu.detect.model import POSITIVE, Detector
from shekteu.detect.normalize import normalize_many
from shekteu.detect.train import Example, fit

GROUP_JACCARD = 0.5
SHINGLE = 4
_MASK = re.compile(r"\[[a-z]+\]|https?://\S+|@\w+|[^\w]+")


@dataclass(frozen=True)
class Prediction:
    """One held-out message: its true label, the model's label and score, where it came from."""

    id: str
    source: str
    kind: str
    truth: str
    label: str
    score: float


def _shingles(texts: list[str]) -> list[set[str]]:
    out = []
    for norm in normalize_many(texts):
        flat = _MASK.sub(" ", norm.text).strip()
        out.append({flat[i : i + SHINGLE] for i in range(max(len(flat) - SHINGLE + 1, 1))})
    return out


def near_duplicate_groups(examples: list[Example], threshold: float = GROUP_JACCARD) -> list[int]:
    """A group number per example; examples of one template (4-gram Jaccard ≥ threshold) share it."""
    sets = _shingles([e.text for e in examples])
    parent = list(range(len(examples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Candidate pairs share a rare shingle; comparing all pairs would be quadratic in text length too.
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for shingle in s:
            index[shingle].append(i)
    for i, s in enumerate(sets):
        seen: set[int] = set()
        for shingle in s:
            members = index[shingle]
            if len(members) > 200:  # a shingle everyone has ("ться ") says nothing
                continue
            for j in members:
                if j <= i or j in seen:
                    continue
                seen.add(j)
                union = len(s | sets[j])
                if union and len(s & sets[j]) / union >= threshold:
                    parent[root(j)] = root(i)
    return [root(i) for i in range(len(examples))]


def grouped_folds(examples: list[Example], k: int, seed: int = 20261122) -> list[list[Example]]:
    """``k`` folds in which no near-duplicate group is split, balanced by label as far as groups allow."""
    groups = near_duplicate_groups(examples)
    by_group: dict[int, list[Example]] = defaultdict(list)
    for example, group in zip(examples, groups, strict=True):
        by_group[group].append(example)
    rng = random.Random(seed)
    ordered = list(by_group.values())
    rng.shuffle(ordered)
    # Positive groups first and largest first, each to the fold with fewest of its label so far.
    ordered.sort(key=lambda g: (g[0].label not in POSITIVE, -len(g)))
    folds: list[list[Example]] = [[] for _ in range(k)]
    counts = [Counter() for _ in range(k)]
    for group in ordered:
        label = group[0].label
        target = min(range(k), key=lambda f: (counts[f][label], len(folds[f])))
        folds[target].extend(group)
        counts[target][label] += len(group)
    return folds


def source_of(example: Example) -> str:
    return example.source or example.id.split("-")[0]


def _predict(detector: Detector, held: list[Example]) -> list[Prediction]:
    verdicts = detector.classify([e.text for e in held], explain=False)
    return [Prediction(e.id, source_of(e), e.kind, e.label, v.label, v.score)
            for e, v in zip(held, verdicts, strict=True)]  # fmt: skip


def grouped_cross_validation(real: list[Example], generated: list[Example], k: int = 5, *,
                             on_fold: Callable[[], None] | None = None, **fit_args: Any) -> list[Prediction]:  # fmt: skip
    """Predictions for every real example by a model that saw no near-copy of it."""
    out: list[Prediction] = []
    parts = grouped_folds(real, k)
    for i, held in enumerate(parts):
        train = [e for j, part in enumerate(parts) if j != i for e in part] + generated
        out += _predict(fit(train, **fit_args), held)
        if on_fold:
            on_fold()
    return out


def leave_one_source_out(real: list[Example], generated: list[Example], *,
                         on_fold: Callable[[], None] | None = None, **fit_args: Any) -> list[Prediction]:  # fmt: skip
    """Predictions for every real example by a model that saw nothing from its source."""
    out: list[Prediction] = []
    for source in sorted({source_of(e) for e in real}):
        held = [e for e in real if source_of(e) == source]
        train = [e for e in real if source_of(e) != source] + generated
        out += _predict(fit(train, **fit_args), held)
        if on_fold:
            on_fold()
    return out


def binary(predictions: list[Prediction]) -> dict[str, float]:
    """Precision, recall and F1 of sale ∪ recruit, and the false-positive rate on the rest."""
    tp = sum(p.truth in POSITIVE and p.label in POSITIVE for p in predictions)
    fp = sum(p.truth not in POSITIVE and p.label in POSITIVE for p in predictions)
    fn = sum(p.truth in POSITIVE and p.label not in POSITIVE for p in predictions)
    negatives = sum(p.truth not in POSITIVE for p in predictions)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "positives": tp + fn, "negatives": negatives,
            "false_positive_rate": round(fp / negatives, 4) if negatives else 0.0}  # fmt: skip


def by(predictions: list[Prediction], key: Callable[[Prediction], str]) -> dict[str, dict[str, float]]:
    """``binary`` per value of ``key`` (source, kind, true label)."""
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[key(p)].append(p)
    return {name: binary(rows) for name, rows in sorted(groups.items())}


def calibration(predictions: list[Prediction], bins: int = 10) -> dict[str, Any]:
    """Reliability of ``score``: per score bin the mean score and the share truly positive."""
    table = []
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        rows = [p for p in predictions if low <= p.score < high or (b == bins - 1 and p.score == 1.0)]
        if not rows:
            continue
        mean = sum(p.score for p in rows) / len(rows)
        share = sum(p.truth in POSITIVE for p in rows) / len(rows)
        ece += len(rows) / len(predictions) * abs(mean - share)
        table.append({"bin": f"{low:.1f}-{high:.1f}", "n": len(rows), "mean_score": round(mean, 3),
                      "positive_share": round(share, 3)})  # fmt: skip
    brier = sum((p.score - (p.truth in POSITIVE)) ** 2 for p in predictions) / max(len(predictions), 1)
    return {"bins": table, "ece": round(ece, 4), "brier": round(brier, 4)}


def summary(predictions: list[Prediction]) -> dict[str, Any]:
    """Everything a report needs, as JSON-ready data."""
    return {
        "binary": binary(predictions),
        "by_source": by(predictions, lambda p: p.source),
        "by_label": by(predictions, lambda p: p.truth),
        "by_kind": by(predictions, lambda p: p.kind) if any(p.kind for p in predictions) else {},
        "calibration": calibration(predictions),
    }
