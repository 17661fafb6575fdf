"""Training and cross-validation of the detector (``shekteu model train``; needs the ``train`` extra).

The model is multinomial logistic regression over the hashed features of ``features``: linear, so
each feature's weight explains its share of a verdict, and small enough to ship. Training data is
the labelled JSONL given (``../shared/data/text/drug_ads_dev.jsonl`` for the shipped model, without
its ``ambiguous`` rows) plus generated messages from ``synth``. Everything is seeded: the same
inputs give the same file.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.detect import lexicon as lexicon_file
from shekteu.detect import synth
from shekteu.detect.features import Lexicon, extract
from shekteu.detect.model import LABELS, POSITIVE, Detector
from shekteu.detect.normalize import normalize_many

DEFAULT_BITS = 18
DEFAULT_SYNTHETIC = 3000
DEFAULT_C = 16.0
DEFAULT_CONCEPT_WEIGHT = 10.0
SEED = 20261122
SYNTHETIC_WEIGHT = 1.0
FEEDBACK_WEIGHT = 2.0
WORDS = re.compile(r"[^\W\d_]{3,}")  # the words a model's vocabulary keeps


class TrainingError(ValueError):
    """Training data that cannot be used, named in the message."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    id: str = ""
    weight: float = 1.0
    source: str = ""  # where a real message came from ("owner/repo"), for leave-one-source-out
    kind: str = ""  # a finer class for reports ("forum_talk", "kk_news" …), if the data names one


def read_labelled(path: Path) -> list[Example]:
    """Labelled JSONL (``text``, ``label``); ``ambiguous`` rows are left out, unknown labels refused."""
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
        except (ValueError, KeyError, TypeError):
            raise TrainingError(f"{path}:{number}: expected a JSON object with text and label") from None
        if label == "ambiguous":
            continue
        if label not in LABELS or not isinstance(text, str):
            raise TrainingError(f"{path}:{number}: unknown label {label!r}")
        source = str(row.get("source") or "").split("@")[0]
        examples.append(Example(text, label, str(row.get("id", f"{path.name}:{number}")),
                                source="/".join(source.split("/")[:2]), kind=str(row.get("kind") or "")))  # fmt: skip
    return examples


def synthetic(per_label: int, seed: int = SEED) -> list[Example]:
    rows = synth.generate(per_label, seed)
    return [Example(text, label, f"synth-{i}", SYNTHETIC_WEIGHT) for i, (text, label) in enumerate(rows)]


def fit(
    examples: list[Example],
    *,
    terms: list[lexicon_file.Term] | None = None,
    bits: int = DEFAULT_BITS,
    c: float = DEFAULT_C,
    concept_weight: float = DEFAULT_CONCEPT_WEIGHT,
    meta: dict[str, Any] | None = None,
) -> Detector:
    """A detector trained on ``examples``."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    if len(examples) < 2 * len(LABELS):
        raise TrainingError(f"too few training examples ({len(examples)}); give --data or --synthetic")
    missing = set(LABELS) - {e.label for e in examples}
    if missing:
        raise TrainingError(f"no examples of {', '.join(sorted(missing))}")
    terms = terms if terms is not None else lexicon_file.load()
    lexicon = Lexicon.build(terms)
    texts = [n.text for n in normalize_many([e.text for e in examples])]
    feats = extract(texts, lexicon, bits, concept_weight)
    matrix = csr_matrix((feats.value, (feats.doc, feats.column)), shape=(len(examples), 1 << bits))
    matrix.sum_duplicates()
    y = np.array([LABELS.index(e.label) for e in examples])
    counts = np.bincount(y, minlength=len(LABELS)).astype(float)
    # Every label weighs the same in total, whatever its count; generated rows count half.
    sample_weight = np.array([e.weight for e in examples]) * (len(y) / (len(LABELS) * counts))[y]
    model = LogisticRegression(C=c, max_iter=300, tol=1e-4)
    model.fit(matrix, y, sample_weight=sample_weight)
    weights = np.zeros((1 << bits, len(LABELS)), dtype=np.float32)
    weights[:, model.classes_] = model.coef_.T
    bias = np.full(len(LABELS), -30.0, dtype=np.float32)
    bias[model.classes_] = model.intercept_
    info = {
        "examples": dict(Counter(e.label for e in examples)),
        "bits": bits,
        "C": c,
        "terms": len(terms),
        "concept_weight": concept_weight,
    }
    vocabulary = frozenset(w for t in texts for w in WORDS.findall(t))
    return Detector(weights, bias, list(LABELS), lexicon, bits, {**info, **(meta or {})}, version="unsaved",
                    vocabulary=vocabulary)  # fmt: skip


def folds(examples: list[Example], k: int, seed: int = SEED) -> list[list[Example]]:
    """``k`` folds stratified by label."""
    rng = random.Random(seed)
    out: list[list[Example]] = [[] for _ in range(k)]
    by_label: dict[str, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    i = 0
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        for e in group:
            out[i % k].append(e)
            i += 1
    return out


def cross_validate(real: list[Example], generated: list[Example], k: int = 5, *,
                   on_fold: Callable[[], None] | None = None, **fit_args: Any) -> list[tuple[str, str]]:  # fmt: skip
    """(true, predicted) for every real example, each predicted by a model that never saw it."""
    pairs = []
    parts = folds(real, k)
    for i, held in enumerate(parts):
        train = [e for j, part in enumerate(parts) if j != i for e in part] + generated
        detector = fit(train, **fit_args)
        for example, verdict in zip(
            held, detector.classify([e.text for e in held], explain=False), strict=True
        ):
            pairs.append((example.label, verdict.label))
        if on_fold:
            on_fold()
    return pairs


def scores(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 per label and for the binary task (sale ∪ recruit vs the rest)."""

    def prf(truth: list[bool], guess: list[bool]) -> dict[str, float]:
        tp = sum(t and g for t, g in zip(truth, guess, strict=True))
        fp = sum(g and not t for t, g in zip(truth, guess, strict=True))
        fn = sum(t and not g for t, g in zip(truth, guess, strict=True))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
                "support": sum(truth)}  # fmt: skip

    result = {label: prf([t == label for t, _ in pairs], [g == label for _, g in pairs]) for label in LABELS}
    result["binary"] = prf([t in POSITIVE for t, _ in pairs], [g in POSITIVE for _, g in pairs])
    hard = [g in POSITIVE for t, g in pairs if t == "drug_other"]
    result["drug_other_false_positive_rate"] = {"rate": round(sum(hard) / len(hard), 4) if hard else 0.0,
                                                "support": len(hard)}  # fmt: skip
    return result
