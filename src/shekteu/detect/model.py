"""The shipped classifier: a linear model over hashed features, with explanations.

A verdict gives the label (``sale``, ``recruit``, ``drug_other``, ``other``), ``score`` = P(sale) +
P(recruit), and the terms that drove it, as spans of the *original* text. The model file is a
NumPy archive inside the package: the weight table, the expanded slang dictionary it was trained
with and a description of its training. Its version is the SHA-256 of that file, recorded with
every verdict stored in the database.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.detect.features import Features, Lexicon, extract
from shekteu.detect.normalize import Normalized, normalize_many

LABELS = ("sale", "recruit", "drug_other", "other")
POSITIVE = ("sale", "recruit")
MAX_TERMS = 6
MIN_PUSH = 0.02  # a span pushing less than this towards the label is not named
# Characters scored in one pass: the feature arrays (a few dozen of 8 bytes a character) stay in the
# CPU's cache. One pass over a whole batch of long pages ran twice as slow as passes of this size.
CHUNK_CHARS = 200_000


class ModelError(RuntimeError):
    """The model file is missing or unreadable."""


@dataclass
class Term:
    term: str
    start: int
    end: int
    weight: float = field(default=0.0, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"term": self.term, "start": self.start, "end": self.end}


@dataclass
class Verdict:
    label: str
    score: float
    probabilities: dict[str, float]
    terms: list[Term]
    concepts: list[str]


def default_path() -> Path:
    return Path(str(resources.files("shekteu.detect") / "data" / "detector.npz"))


class Detector:
    """Scores texts with the weight table; thread-safe (read-only after loading)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, labels: list[str], lexicon: Lexicon,
                 bits: int, meta: dict[str, Any], version: str, vocabulary: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self.weights = weights.astype(np.float32)
        self._columns = np.ascontiguousarray(self.weights.T)
        self._row_means = self.weights.mean(axis=1)  # what a feature pushes beyond, in _explain
        self.bias = bias.astype(np.float32)
        self.labels = labels
        self.lexicon = lexicon
        self.bits = bits
        self.meta = meta
        self.version = version
        self.vocabulary = vocabulary  # words seen in training: what is new slang to this model (drift)
        self.concept_weight = float(meta.get("concept_weight", 1.0))
        self._positive = np.array([labels.index(p) for p in POSITIVE])
        # Set by ``load_detector``: another process loads the same model from it (``loaded_as``).
        self.file: tuple[str | None] | None = None

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: Path) -> str:
        """Write the model; returns its version (SHA-256 of the file)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            weights=self.weights.astype(np.float16),
            bias=self.bias,
            labels=np.array(self.labels),
            concepts=np.array(self.lexicon.concepts),
            bits=np.array(self.bits),
            meta=np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True)),
            vocabulary=np.array(sorted(self.vocabulary), dtype=str),
            **self.lexicon.arrays(),
        )
        data = buffer.getvalue()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return hashlib.sha256(data).hexdigest()[:16]

    @classmethod
    def load(cls, path: Path | None = None) -> Detector:
        path = path or default_path()
        try:
            data = path.read_bytes()
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot load model {path}: {exc}") from None
        concepts = [str(c) for c in arrays["concepts"]]
        return cls(
            arrays["weights"], arrays["bias"], [str(x) for x in arrays["labels"]],
            Lexicon.from_arrays(concepts, arrays), int(arrays["bits"]), json.loads(str(arrays["meta"])),
            hashlib.sha256(data).hexdigest()[:16],
            frozenset(str(w) for w in arrays.get("vocabulary", ())),
        )  # fmt: skip

    # -- scoring -----------------------------------------------------------------------------------
    def features(self, normalized: list[Normalized]) -> Features:
        return extract([n.text for n in normalized], self.lexicon, self.bits, self.concept_weight)

    def probabilities(self, feats: Features, n_docs: int) -> np.ndarray:
        logits = np.empty((n_docs, len(self.labels)), dtype=np.float64)
        for c in range(len(self.labels)):
            # One label's column at a time: 2**18 floats stay in cache while they are gathered.
            weights = self._columns[c][feats.column]
            weights *= feats.value
            logits[:, c] = np.bincount(feats.doc, weights=weights, minlength=n_docs)
        logits += self.bias
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def classify(self, texts: list[str], *, explain: bool = True) -> list[Verdict]:
        """Verdicts for a batch of raw texts, in order (scored in passes of about CHUNK_CHARS)."""
        out: list[Verdict] = []
        start, size = 0, 0
        for end, text in enumerate(texts):
            if size and size + len(text) > CHUNK_CHARS:
                out += self._classify(texts[start:end], explain)
                start, size = end, 0
            size += len(text)
        return out + self._classify(texts[start:], explain) if start < len(texts) else out

    def _classify(self, texts: list[str], explain: bool) -> list[Verdict]:
        normalized = normalize_many(texts)
        feats = self.features(normalized)
        probs = self.probabilities(feats, len(texts))
        scores = probs[:, self._positive].sum(axis=1)
        # The binary decision comes first (score ≥ 0.5), then the likelier label on that side.
        best = np.empty(len(texts), dtype=np.int64)
        pos = self._positive
        neg = np.array([i for i in range(len(self.labels)) if i not in pos])
        best_pos = pos[probs[:, pos].argmax(axis=1)]
        best_neg = neg[probs[:, neg].argmax(axis=1)]
        best = np.where(scores >= 0.5, best_pos, best_neg)
        terms = self._explain(normalized, feats, best) if explain else [[] for _ in texts]
        concepts: list[set[str]] = [set() for _ in texts]
        for doc, concept, _, _ in feats.concept_hits:
            concepts[doc].add(self.lexicon.concepts[concept])
        return [
            Verdict(
                self.labels[b],
                round(float(s), 4),
                {label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)},
                t,
                sorted(c),
            )
            for b, s, row, t, c in zip(best.tolist(), scores, probs, terms, concepts, strict=True)
        ]

    def _explain(self, normalized: list[Normalized], feats: Features, best: np.ndarray) -> list[list[Term]]:
        """The spans whose features pushed hardest towards each text's label."""
        chosen = self.weights[feats.column, best[feats.doc]]
        push = feats.value * (chosen - self._row_means[feats.column])
        keep = (feats.start >= 0) & (push > 0)
        doc, start, end, push = feats.doc[keep], feats.start[keep], feats.end[keep], push[keep]
        if not len(doc):
            return [[] for _ in normalized]
        # One int64 key per (text, start, end): spans are < 2**21 characters (texts are capped).
        key = (doc.astype(np.int64) << 42) | (start.astype(np.int64) << 21) | end.astype(np.int64)
        keys, inverse = np.unique(key, return_inverse=True)
        total = np.bincount(inverse.ravel(), weights=push)
        strong = np.flatnonzero(total >= MIN_PUSH)  # the weaker spans are never shown
        keys, total = keys[strong], total[strong]
        unique = np.stack([keys >> 42, (keys >> 21) & 0x1FFFFF, keys & 0x1FFFFF], axis=1)
        order = np.lexsort((-total, unique[:, 0]))
        # Each text's spans, strongest first: a text is done once it has MAX_TERMS of them.
        docs = unique[order, 0]
        bounds = np.flatnonzero(np.diff(docs)) + 1
        result: list[list[Term]] = [[] for _ in normalized]
        for group in np.split(order, bounds) if len(order) else []:
            d = int(unique[group[0], 0])
            picked, norm = result[d], normalized[d]
            for idx in group.tolist():
                _, s, e = unique[idx].tolist()
                word = norm.text[s:e]
                if len(word) < 3 or word.replace(" ", "").isdigit():
                    continue  # "в", "с", "4400": true to the weights, useless to a reader
                a, b = norm.span(s, e)
                if any(a < t.end and t.start < b for t in picked):
                    continue
                picked.append(Term(norm.source[a:b], a, b, float(total[idx])))
                if len(picked) >= MAX_TERMS:
                    break
        for picked in result:
            picked.sort(key=lambda t: t.start)
        return result


@lru_cache(maxsize=4)
def load_detector(path: str | None = None) -> Detector:
    """The detector at ``path`` (default: the one shipped in the package), loaded once."""
    detector = Detector.load(Path(path) if path else None)
    detector.file = (path,)
    return detector


def loaded_as(file: tuple[str | None], version: str) -> Detector:
    """In another process: the detector a parent loaded from ``file``, refused if the file now holds
    another model than ``version``."""
    detector = load_detector(file[0])
    if detector.version != version:
        raise ModelError(f"model file changed: {detector.version} is not {version}")
    return detector
