"""Hashed features for a batch of normalised texts, computed with NumPy in a few passes.

The fast path must score tens of thousands of messages a second on one core, so nothing here
loops over characters or words in Python. The texts of a batch are joined into one array of code
points; every substring hash (character n-grams, words, word pairs, dictionary prefixes) comes
from one prefix sum of a polynomial hash modulo 2**64, and a multiplicative mix maps each hash to
one of ``2**bits`` weight rows. Each feature occurrence keeps the span of the text that produced it,
so a verdict can point at the words that drove it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shekteu.detect.lexicon import Term

BASE = 0x100000001B3  # odd, so it has an inverse modulo 2**64
INV_BASE = pow(BASE, -1, 1 << 64)
MIX = np.uint64(0x9E3779B97F4A7C15)
PAIR = np.uint64(0xC2B2AE3D27D4EB4F)
NGRAMS = (3, 4, 5)
# Salts keep the feature families apart in the hashed space.
SALT_NGRAM, SALT_WORD, SALT_BIGRAM, SALT_CONCEPT, SALT_PAIR = (
    np.uint64(s) for s in (0x1F3D5B79, 0x2E4C6A88, 0x3B5D7F91, 0x4A6C8EA2, 0x597BADB3)
)
SPACE, NUL, ZERO = 32, 0, 48

_powers: dict[str, np.ndarray] = {}


def _power_table(name: str, base: int, n: int) -> np.ndarray:
    table = _powers.get(name)
    if table is None or len(table) < n:
        size = max(n, 1 << 16, 2 * (0 if table is None else len(table)))
        table = np.empty(size, dtype=np.uint64)
        table[0] = 1
        table[1:] = base
        table = np.cumprod(table, dtype=np.uint64)
        _powers[name] = table
    return table[:n]


def feature_codes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes of `` text `` per text joined by NUL, digits as 0 and non-word characters as space.

    Only the separators are NUL in the result (NULs inside a text become spaces), so callers may
    find text boundaries by looking for NUL.

    Returns the codes and, for each text, the index of its first character in them.
    """
    joined = "\x00" + "\x00".join(f" {t} " for t in texts) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) + 3 for t in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([2], 2 + np.cumsum(lengths)[:-1])) if len(texts) else np.zeros(0, np.int64)
    word = (
        ((codes >= 0x61) & (codes <= 0x7A))
        | ((codes >= 0xDF) & (codes <= 0x24F) & (codes != 0xF7))
        | ((codes >= 0x370) & (codes <= 0x1FFF))
        | ((codes >= 0x20A0) & (codes <= 0x20CF))  # currency signs: prices matter
        | ((codes >= 0x3040) & (codes <= 0xD7FF))
        | (codes == 0x24)
    )
    digit = (codes >= 0x30) & (codes <= 0x39)
    out = np.where(word, codes, np.where(digit, ZERO, SPACE)).astype(np.uint64)
    # The separators are placed by position: a NUL inside a text is a space like any control.
    out[starts - 2] = NUL
    out[-1] = NUL
    return out, starts


class Hasher:
    """Substring hashes over one code array: ``hash(a, b)`` for arrays of starts and ends."""

    def __init__(self, codes: np.ndarray) -> None:
        n = len(codes)
        powers = _power_table("base", BASE, n)
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(codes * powers, dtype=np.uint64, out=self.prefix[1:])
        self.inverse = _power_table("inverse", INV_BASE, n + 1)

    def __call__(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (self.prefix[end] - self.prefix[start]) * self.inverse[start]


def hash_strings(strings: list[str]) -> np.ndarray:
    """The word hash of each string, as ``extract`` computes it for the same text in a message."""
    codes, starts = feature_codes(strings)
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    return Hasher(codes)(starts, starts + lengths)


def _pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return first * PAIR + second


def _index(hashes: np.ndarray, salt: np.uint64, bits: int) -> np.ndarray:
    return (((hashes + salt) * MIX) >> np.uint64(64 - bits)).astype(np.int64)


@dataclass
class Lexicon:
    """The slang dictionary as sorted hash tables: concept id for each word, prefix and phrase."""

    concepts: list[str]
    word_keys: np.ndarray
    word_concepts: np.ndarray
    prefix_keys: np.ndarray
    prefix_concepts: np.ndarray
    prefix_lengths: np.ndarray
    phrase_keys: np.ndarray
    phrase_concepts: np.ndarray

    @classmethod
    def build(cls, terms: list[Term]) -> Lexicon:
        concepts = sorted({t.concept for t in terms})
        cid = {c: i for i, c in enumerate(concepts)}

        def table(keys: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
            order = np.argsort(keys, kind="stable")
            return keys[order], np.asarray(ids, dtype=np.int64)[order]

        words = [t for t in terms if t.match == "word"]
        prefixes = [t for t in terms if t.match == "prefix"]
        phrases = [t for t in terms if t.match == "phrase"]
        wk, wc = table(hash_strings([t.text for t in words]), [cid[t.concept] for t in words])
        pk, pc = table(hash_strings([t.text for t in prefixes]), [cid[t.concept] for t in prefixes])
        phrase_hashes = []
        for t in phrases:
            parts = hash_strings(t.text.split(" "))
            h = parts[0]
            for part in parts[1:]:
                h = _pair(h, part)
            phrase_hashes.append(h)
        hk, hc = table(np.asarray(phrase_hashes, dtype=np.uint64), [cid[t.concept] for t in phrases])
        lengths = np.unique(np.fromiter((len(t.text) for t in prefixes), dtype=np.int64))
        return cls(concepts, wk, wc, pk, pc, lengths, hk, hc)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "lex_word_keys": self.word_keys, "lex_word_concepts": self.word_concepts,
            "lex_prefix_keys": self.prefix_keys, "lex_prefix_concepts": self.prefix_concepts,
            "lex_prefix_lengths": self.prefix_lengths,
            "lex_phrase_keys": self.phrase_keys, "lex_phrase_concepts": self.phrase_concepts,
        }  # fmt: skip

    @classmethod
    def from_arrays(cls, concepts: list[str], data: dict[str, np.ndarray]) -> Lexicon:
        return cls(concepts, *(data[k] for k in (
            "lex_word_keys", "lex_word_concepts", "lex_prefix_keys", "lex_prefix_concepts",
            "lex_prefix_lengths", "lex_phrase_keys", "lex_phrase_concepts",
        )))  # fmt: skip


def _lookup(keys: np.ndarray, table: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` found in the sorted ``table`` and their concept ids."""
    if not len(table) or not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    at = np.searchsorted(table, keys).clip(0, len(table) - 1)
    found = np.flatnonzero(table[at] == keys)
    return found, ids[at[found]]


@dataclass
class Features:
    """Feature occurrences of a batch: text, hashed column, weight, and span in the normalised text."""

    doc: np.ndarray
    column: np.ndarray
    value: np.ndarray
    start: np.ndarray  # -1: no span (concept pairs)
    end: np.ndarray
    concept_hits: list[tuple[int, int, int, int]]  # (doc, concept id, start, end)


def extract(texts: list[str], lexicon: Lexicon, bits: int, concept_weight: float = 1.0) -> Features:
    """Features of normalised texts (``Normalized.text``)."""
    codes, text_starts = feature_codes(texts)
    n_docs = len(texts)
    hasher = Hasher(codes)
    position_doc = np.cumsum(codes == NUL) - 1  # text index of each code position
    blocked = (codes == SPACE) | (codes == NUL)
    parts_doc, parts_col, parts_start, parts_end = [], [], [], []

    def add(doc: np.ndarray, col: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        parts_doc.append(doc)
        parts_col.append(col)
        parts_start.append(start)
        parts_end.append(end)

    # Words: maximal runs of word characters.
    is_word = ~blocked
    edges = np.diff(is_word.astype(np.int8))
    w_start = np.flatnonzero(edges == 1) + 1
    w_end = np.flatnonzero(edges == -1) + 1
    w_doc = position_doc[w_start]
    w_hash = hasher(w_start, w_end)
    w_rel_start = w_start - text_starts[w_doc]
    w_rel_end = w_end - text_starts[w_doc]
    add(w_doc, _index(w_hash, SALT_WORD, bits), w_rel_start, w_rel_end)
    # Character n-grams inside words, with the word's edge (a space) at either end.
    blocked_sum = np.concatenate(([0], np.cumsum(blocked)))
    start_mark = np.zeros(len(codes), dtype=np.int64)
    start_mark[w_start] = 1
    word_of_position = np.cumsum(start_mark) - 1  # index of the word at or before each position
    for n in NGRAMS:
        if len(codes) < n:
            continue
        i = np.arange(len(codes) - n + 1)
        inner_clear = blocked_sum[i + n - 1] - blocked_sum[i + 1] == 0
        ok = inner_clear & (codes[i] != NUL) & (codes[i + n - 1] != NUL) & ~blocked[i + 1]
        i = i[ok]
        word = word_of_position[i + 1]
        add(
            w_doc[word],
            _index(hasher(i, i + n) + np.uint64(n), SALT_NGRAM, bits),
            w_rel_start[word],
            w_rel_end[word],
        )
    # Word pairs within a text.
    same = w_doc[1:] == w_doc[:-1]
    b_hash = _pair(w_hash[:-1], w_hash[1:])[same]
    b_first = np.flatnonzero(same)
    add(w_doc[b_first], _index(b_hash, SALT_BIGRAM, bits), w_rel_start[b_first], w_rel_end[b_first + 1])
    # Dictionary concepts: whole words, prefixes of words, phrases of two or three words.
    hits_doc, hits_concept, hits_start, hits_end = [], [], [], []

    def hit(where: np.ndarray, concept: np.ndarray, last: np.ndarray) -> None:
        hits_doc.append(w_doc[where])
        hits_concept.append(concept)
        hits_start.append(w_rel_start[where])
        hits_end.append(w_rel_end[last])

    found, concept = _lookup(w_hash, lexicon.word_keys, lexicon.word_concepts)
    hit(found, concept, found)
    w_len = w_end - w_start
    for k in lexicon.prefix_lengths.tolist():
        longer = np.flatnonzero(w_len >= k)
        found, concept = _lookup(hasher(w_start[longer], w_start[longer] + k), lexicon.prefix_keys,
                                 lexicon.prefix_concepts)  # fmt: skip
        hit(longer[found], concept, longer[found])
    found, concept = _lookup(b_hash, lexicon.phrase_keys, lexicon.phrase_concepts)
    hit(b_first[found], concept, b_first[found] + 1)
    same3 = same[1:] & same[:-1]
    t_first = np.flatnonzero(same3)
    t_hash = _pair(_pair(w_hash[t_first], w_hash[t_first + 1]), w_hash[t_first + 2])
    found, concept = _lookup(t_hash, lexicon.phrase_keys, lexicon.phrase_concepts)
    hit(t_first[found], concept, t_first[found] + 2)
    h_doc = np.concatenate(hits_doc)
    h_concept = np.concatenate(hits_concept)
    h_start = np.concatenate(hits_start)
    h_end = np.concatenate(hits_end)
    n_concepts = len(lexicon.concepts)
    concept_hash = np.arange(n_concepts, dtype=np.uint64)
    add(h_doc, _index(concept_hash[h_concept], SALT_CONCEPT, bits), h_start, h_end)
    # Which concepts a text combines (drug + contact, courier + pay …), once per text and pair.
    present = np.zeros((n_docs, n_concepts), dtype=bool)
    present[h_doc, h_concept] = True
    first, second = np.triu_indices(n_concepts, 1)
    pair_doc, pair_id = np.nonzero(present[:, first] & present[:, second])
    pair_hash = _pair(first[pair_id].astype(np.uint64), second[pair_id].astype(np.uint64))
    none = np.full(len(pair_doc), -1, dtype=np.int64)
    add(pair_doc, _index(pair_hash, SALT_PAIR, bits), none, none)

    doc = np.concatenate(parts_doc)
    counts = np.bincount(doc, minlength=n_docs).astype(np.float32)
    value = (1.0 / np.sqrt(np.maximum(counts, 1.0)))[doc]
    # Concepts and their pairs are few among hundreds of n-grams; they may be given more weight.
    n_concept_rows = len(h_doc) + len(pair_doc)
    if concept_weight != 1.0 and n_concept_rows:
        value[-n_concept_rows:] *= concept_weight
    hits = list(zip(h_doc.tolist(), h_concept.tolist(), h_start.tolist(), h_end.tolist(), strict=True))
    return Features(doc, np.concatenate(parts_col), value.astype(np.float32),
                    np.concatenate(parts_start), np.concatenate(parts_end), hits)  # fmt: skip
