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

_JUNK_SINGLES = np.array(
    [0xAD, 0x34F, 0x61C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0], dtype=np.uint32
)
_JUNK_RANGES = [(0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0xFE00, 0xFE0F),
                (0x300, 0x36F), (0x483, 0x489), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
                (0xFE20, 0xFE2F)]  # fmt: skip
_LOOKALIKE_CODES = np.array(sorted(map(ord, "aeopcxykmthbiuαβεηικμνοπρτυχω")), dtype=np.uint32)
_EMOJI_CODES = np.array(sorted({ord(e[0]) for e in EMOJI_WORDS}), dtype=np.uint32)


def codes_of(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by NUL, and for each code point the index of its text.

    The index comes from the lengths, never from counting NULs: a text may carry NULs of its own.
    """
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(codes)]
    return codes, doc


def _between(codes: np.ndarray, low: int, high: int) -> np.ndarray:
    return (codes >= low) & (codes <= high)


def _per_doc(doc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(doc[: len(mask)][mask], minlength=n) > 0


def _runs(
    mask: np.ndarray, doc: np.ndarray, members: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Runs of consecutive True in ``mask``: each run's text, and per member mask its count in the run."""
    starts = mask.copy()
    starts[1:] &= ~mask[:-1]
    run = np.cumsum(starts) - 1
    n_runs = int(starts.sum())
    return doc[np.flatnonzero(starts)], [
        np.bincount(run[np.flatnonzero(member & mask)], minlength=n_runs) for member in members
    ]


def _junk(codes: np.ndarray) -> np.ndarray:
    """Invisible characters and combining marks, as ``normalize`` removes them."""
    mask = np.isin(codes, _JUNK_SINGLES)
    for low, high in _JUNK_RANGES:
        mask |= _between(codes, low, high)
    return mask


def steps_needed(texts: list[str], lowered: list[str]) -> np.ndarray:
    """For each text, the ``normalize`` steps (bit flags) that could change it beyond ``str.lower``."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    all_codes, all_doc = codes_of(lowered)
    junk = _junk(all_codes)
    steps = np.zeros(n, dtype=np.int64)
    steps[_per_doc(all_doc, junk, n)] |= N.NFKC
    # The other traces are looked for as they will be once the junk is gone ("за\u200bклад").
    codes, doc = all_codes[~junk], all_doc[~junk]
    cyr = _between(codes, 0x400, 0x52F)
    latin_or_greek = _between(codes, 0x61, 0x7A) | _between(codes, 0x3B1, 0x3C9)
    digit = _between(codes, 0x30, 0x39)
    letter = cyr | latin_or_greek | _between(codes, 0xDF, 0x24F)
    word = letter | digit

    def mark(step: int, mask: np.ndarray) -> None:
        steps[_per_doc(doc, mask, n)] |= step

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
    # A word with both Cyrillic and Latin or Greek letters in it. "Word" is taken broadly (any
    # non-ASCII character joins one), so that no word the regex sees is split here.
    wide = word | (codes >= 0xC0) | _between(codes, 0x41, 0x5A) | (codes == 0x5F)
    run_doc, counts = _runs(wide, doc, [cyr, latin_or_greek])
    steps[np.bincount(run_doc[(counts[0] > 0) & (counts[1] > 0)], minlength=n) > 0] |= N.MIXED
    # Cyrillic text with a Latin or Greek word made only of look-alike letters ("TOBAP"): fold it.
    run_doc, (unfoldable,) = _runs(latin_or_greek, doc, [latin_or_greek & ~np.isin(codes, _LOOKALIKE_CODES)])
    foldable = np.bincount(run_doc[unfoldable == 0], minlength=n) > 0
    steps[_per_doc(doc, cyr, n) & foldable] |= N.LOOKALIKE
    # A step can make work for the ones after it: joined or digit-folded letters form new words.
    steps[(steps & N.SPACED) > 0] |= N.REPEATS | N.DIGITS | N.MIXED | N.LOOKALIKE
    steps[(steps & (N.DIGITS | N.MIXED)) > 0] |= N.MIXED | N.LOOKALIKE
    # NFKC proper (full-width letters, ligatures) can change anything: every step.
    not_nfkc = np.fromiter((not unicodedata.is_normalized("NFKC", t) for t in texts), dtype=bool, count=n)
    steps[not_nfkc] |= N.ALL_STEPS
    return steps
