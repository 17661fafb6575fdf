"""A vectorised screen that tells which texts carry traces of obfuscation.

Running a dozen regexes over every message costs more than the whole classifier. Most messages
carry no disguise at all, and the traces of every trick ``normalize`` undoes can be found for a
whole batch at once with a few NumPy comparisons over the code points: the screen only has to be
safe (never miss a text that needs work), not exact.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from shekteu.detect import normalize as N
from shekteu.detect.normalize import EMOJI_WORDS

_LOOKALIKE_CODES = np.array(sorted(map(ord, "aeopcxykmthbiuαβεηικμνοπρτυχω")), dtype=np.uint32)
_EMOJI_CODES = np.array(sorted({ord(e[0]) for e in EMOJI_WORDS}), dtype=np.uint32)


def codes_of(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by NUL, and for each code point the index of its text."""
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    doc = np.cumsum(codes == 0, dtype=np.int64)
    return codes, doc


def _between(codes: np.ndarray, low: int, high: int) -> np.ndarray:
    return (codes >= low) & (codes <= high)


def _per_doc(doc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(doc[: len(mask)][mask], minlength=n) > 0


def steps_needed(texts: list[str], lowered: list[str]) -> np.ndarray:
    """For each text, the ``normalize`` steps (bit flags) that could change it beyond ``str.lower``."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes, doc = codes_of(lowered)
    cyr = _between(codes, 0x400, 0x52F)
    latin_or_greek = _between(codes, 0x61, 0x7A) | _between(codes, 0x3B1, 0x3C9)
    digit = _between(codes, 0x30, 0x39)
    letter = cyr | latin_or_greek | _between(codes, 0xDF, 0x24F)
    word = letter | digit
    steps = np.zeros(n, dtype=np.int64)

    def mark(step: int, mask: np.ndarray) -> None:
        steps[_per_doc(doc, mask, n)] |= step

    nfkc = np.fromiter((not unicodedata.is_normalized("NFKC", t) for t in texts), dtype=bool, count=n)
    steps[nfkc] |= N.NFKC
    mark(
        N.NFKC,
        (codes == 0xAD)
        | _between(codes, 0x300, 0x36F)
        | _between(codes, 0x483, 0x489)
        | _between(codes, 0x1AB0, 0x1AFF)
        | _between(codes, 0x1DC0, 0x1DFF)
        | _between(codes, 0x200B, 0x206F)
        | _between(codes, 0xFE00, 0xFE2F)
        | (codes == 0xFEFF)
        | (codes == 0x34F)
        | (codes >= 0x3164),
    )
    mark(N.EMOJI, np.isin(codes, _EMOJI_CODES))
    # A single character, a separator, a single character: the start of "м е ф".
    single = word.copy()
    single[1:] &= ~word[:-1]
    single[:-1] &= ~word[1:]
    mark(N.SPACED, single[:-2] & single[2:])
    # Three of a kind: "мееef", "!!!!" (digits repeat in numbers, spaces in layout).
    mark(
        N.REPEATS,
        (codes[:-2] == codes[1:-1]) & (codes[1:-1] == codes[2:]) & ~digit[:-2] & (codes[:-2] > 0x20),
    )
    mark(N.DIGITS, (digit[:-1] & letter[1:]) | (letter[:-1] & digit[1:]))
    mark(N.MIXED, (cyr[:-1] & latin_or_greek[1:]) | (latin_or_greek[:-1] & cyr[1:]))
    # Cyrillic text with a Latin or Greek word made only of look-alike letters ("TOBAP"): fold it.
    has_cyr = _per_doc(doc, cyr, n)
    starts = latin_or_greek.copy()
    starts[1:] &= ~latin_or_greek[:-1]
    run = np.cumsum(starts) - 1
    inside = np.flatnonzero(latin_or_greek)
    if len(inside):
        n_runs = int(run[inside[-1]]) + 1
        unfoldable = np.bincount(run[inside[~np.isin(codes[inside], _LOOKALIKE_CODES)]], minlength=n_runs)
        run_doc = doc[np.flatnonzero(starts)]
        foldable = np.bincount(run_doc[unfoldable == 0], minlength=n) > 0
        steps[has_cyr & foldable] |= N.LOOKALIKE
    # Digit folding and emoji words can create mixed or look-alike words for the later steps.
    steps[(steps & (N.DIGITS | N.EMOJI | N.NFKC | N.SPACED | N.MIXED)) > 0] |= N.MIXED | N.LOOKALIKE
    steps[(steps & N.NFKC) > 0] |= N.ALL_STEPS
    return steps
