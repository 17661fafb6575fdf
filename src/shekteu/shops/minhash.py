"""MinHash signatures and LSH buckets: find near-duplicate ad texts among many thousands of items.

Shops copy their adverts from channel to channel and site to site, with a handle or a price changed.
Two texts whose word-shingle sets have a high Jaccard similarity are near-duplicates; a MinHash
signature estimates that similarity from 128 numbers, and splitting the signature into bands whose
hashes are stored as buckets finds candidate pairs with one indexed lookup instead of comparing every
pair. Near-duplicates are a *weak* signal: they only ever produce merge suggestions.

The hash family is multiply-shift on 64-bit integers with fixed seeds, so signatures are the same in
every process and release (they are stored).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

PERMUTATIONS = 128
BANDS = 16  # 16 bands of 8 rows: pairs above ~0.7 similarity share a bucket with high probability
ROWS = PERMUTATIONS // BANDS
SHINGLE = 2  # words per shingle; ads are short
MIN_SHINGLES = 4  # shorter texts say too little to call two of them the same ad

_rng = np.random.default_rng(20261122)
_A = _rng.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+", re.UNICODE)
_DIGITS = re.compile(r"\d")


def shingles(text: str) -> set[str]:
    """Word pairs of the lower-cased text, digits folded (prices and counts change between copies)."""
    words = _WORD.findall(_DIGITS.sub("0", text.lower()))  # a digit stays a word character
    return {" ".join(words[i : i + SHINGLE]) for i in range(max(0, len(words) - SHINGLE + 1))}


def _hash64(values: set[str]) -> np.ndarray:
    return np.array(
        [
            int.from_bytes(
                hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
            )
            for v in values
        ],
        dtype=np.uint64,
    )


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature (uint32 × PERMUTATIONS), or None when the text is too short."""
    shingle_set = shingles(text)
    if len(shingle_set) < MIN_SHINGLES:
        return None
    x = _hash64(shingle_set)
    with np.errstate(over="ignore"):
        mixed = (x[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)  # wraps mod 2**64 by design
    return mixed.min(axis=0).astype(np.uint32)


def buckets(sig: np.ndarray) -> list[int]:
    """One bucket per band: a signed 63-bit hash of the band's rows and its index."""
    out = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            sig[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8, person=band.to_bytes(2, "little")
        ).digest()
        out.append(int.from_bytes(digest, "little") >> 1)
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(np.mean(a == b))


def similarities(sig: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``similarity`` of one signature with each row of ``others``."""
    return (others == sig[None, :]).mean(axis=1)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")
