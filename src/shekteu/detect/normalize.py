"""Normalisation that undoes deliberate obfuscation, keeping a map back to the original text.

Drug shops write "MEФ", "с0ль", "З А К Л А Д К И", "мееееф", "Ρабοта" (Greek letters) and put
zero-width spaces inside words so that keyword filters miss them. Every step here folds one such
trick away. Each output character remembers the index of the input character it came from, so a
term found in the normalised text can be shown to the analyst at its place in the original.

The steps run on whole strings with C-level ``re``/``str`` operations and touch Python code only
where something matched, because the classifier's fast path normalises tens of thousands of
messages a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Cyrillic letters and the Latin and Greek letters drawn the same (lower case; text is lowered first).
_LATIN_TO_CYR = dict(zip("aeopcxykmthbiu", "аеорсхукмтнвіи", strict=True))
_GREEK_TO_CYR = dict(zip("αβεηικμνοπρτυχω", "авеникмворртухш", strict=True))
_CYR_TO_LATIN = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "м": "m", "т": "t",
    "н": "h", "в": "b", "і": "i",
}  # fmt: skip
# Digits used for letters inside words: "с0ль", "3акладки", "c0ke", "m3th".
_DIGIT_TO_CYR = {"0": "о", "3": "з", "4": "ч", "6": "б", "8": "в"}
_DIGIT_TO_LATIN = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"}

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
_COMBINING = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_JUNK = re.compile(f"[{_INVISIBLE}{_COMBINING}]+")
# Characters NFKC may change: anything outside ASCII, plain Latin letters and Cyrillic, and any
# character followed by combining marks or invisible junk.
_NFKC_CANDIDATE = re.compile(
    f"(?s).[{_COMBINING}{_INVISIBLE}]+"
    "|[^\x00-\x9f\u00c0-\u0132\u0134-\u013e\u0140-\u0148\u014a-\u017e\u0180-\u01c3"
    "\u01cd-\u01f0\u01f4-\u02af\u0400-\u04ff]"
)
_CYR_RANGE = "\u0400-\u04ff\u0500-\u052f"
_CYR = re.compile(f"[{_CYR_RANGE}]")
_WORD = re.compile(r"[^\W_]+")
_DIGIT_BY_LETTER = re.compile(r"\d[^\W\d_]|[^\W\d_]\d")
_HAS_DIGIT_AND_LETTER = re.compile(r"\b(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]+")
_MIXED_SCRIPT = re.compile(f"\\b(?=[^\\W\\d_]*[{_CYR_RANGE}])(?=[^\\W\\d_]*[a-z\u03b1-\u03c9])[^\\W_]+")
_LATIN_OR_GREEK_RUN = re.compile(r"[a-z\u03b1-\u03c9]+")  # whole words only: checked in the callback
# Runs of three or more single characters separated by one space, dot, dash, star or underscore:
# "м е ф", "з.а.к.л.а.д.к.и". The separator must repeat through the run.
_SPACED = re.compile(r"\b[^\W_]([ .\-*_·])[^\W_]\b(?:\1[^\W_]\b)+")
# Emoji that shops use for products and logistics become words the slang dictionary knows.
EMOJI_WORDS = {
    "❄": "emjsnow", "☃": "emjsnow", "⛄": "emjsnow", "🍫": "emjchocolate", "🌿": "emjherb", "🍀": "emjherb",
    "🌱": "emjherb", "🍁": "emjleaf", "🌲": "emjherb", "🥦": "emjherb", "🌳": "emjherb", "💎": "emjcrystal",
    "🔮": "emjcrystal", "🧊": "emjcrystal", "🚀": "emjrocket", "💊": "emjpill", "💉": "emjsyringe",
    "🍄": "emjmushroom", "🧂": "emjsalt", "🍬": "emjcandy", "🍭": "emjcandy", "⚡": "emjspeed",
    "🧲": "emjmagnet", "📍": "emjpin", "🗺": "emjmap", "📦": "emjparcel", "🚚": "emjdelivery",
    "🏃": "emjcourier", "💰": "emjmoney", "💵": "emjmoney", "💸": "emjmoney", "🤑": "emjmoney",
    "₿": "emjbitcoin", "🐍": "emjsnake", "👽": "emjalien", "🔥": "emjfire", "💨": "emjsmoke",
    "🚬": "emjsmoke", "😵": "emjhigh", "🤤": "emjhigh", "🥴": "emjhigh",
}  # fmt: skip
_EMOJI = re.compile("|".join(map(re.escape, sorted(EMOJI_WORDS, key=len, reverse=True))))
_ONE_LETTER_WORDS = frozenset("аивскуояaiu")
_REPEATS = re.compile(r"(.)\1\1+")  # what repeats is decided in _squeeze


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for every character, the index of its source character."""

    text: str
    source: str
    offsets: tuple[int, ...] | None = None  # None: text[i] came from source[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]``."""
        if self.offsets is None:
            return start, end
        if end <= start or not self.offsets:
            at = self.offsets[start] if start < len(self.offsets) else len(self.source)
            return at, at
        first = self.offsets[start]
        last = self.offsets[end - 1]
        return first, last + 1


def substitute(
    text: str,
    offsets: Sequence[int],
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], str | tuple[str, list[int]] | None],
) -> tuple[str, Sequence[int]]:
    """``pattern.sub`` that carries the offsets along (``range(len(text))`` stands for "unchanged").

    A replacement of the same length keeps each character's own offset; a one-character one points
    at the match's start; a longer one spans the whole match. ``replace`` may also return the
    replacement with each character's position in the match, or ``None`` to keep the match.
    """
    pieces: list[str] = []
    new_offsets: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        replacement = replace(match)
        if replacement is None:
            continue
        start, end = match.span()
        pieces.append(text[last:start])
        new_offsets.extend(offsets[last:start])
        if isinstance(replacement, tuple):
            replacement, positions = replacement
            pieces.append(replacement)
            new_offsets.extend(offsets[start + p] for p in positions)
            last = end
            continue
        pieces.append(replacement)
        if len(replacement) == end - start:
            new_offsets.extend(offsets[start:end])
        elif len(replacement) == 1:
            new_offsets.append(offsets[start])
        elif replacement:
            # The replacement spans the whole match: its last character ends where the match ends.
            new_offsets.extend([offsets[start]] * (len(replacement) - 1))
            new_offsets.append(offsets[end - 1])
        last = end
    if not pieces:
        return text, offsets
    pieces.append(text[last:])
    new_offsets.extend(offsets[last:])
    return "".join(pieces), new_offsets


def _nfkc_cluster(match: re.Match[str]) -> str:
    return _JUNK.sub("", unicodedata.normalize("NFKC", match.group()))


def nfkc_with_offsets(text: str) -> tuple[str, Sequence[int]]:
    """NFKC by cluster (a base character and its combining marks), dropping junk that remains."""
    offsets = range(len(text))
    if unicodedata.is_normalized("NFKC", text):
        return substitute(text, offsets, _JUNK, lambda m: "") if _JUNK.search(text) else (text, offsets)
    return substitute(text, offsets, _NFKC_CANDIDATE, _nfkc_cluster)


def _lower(text: str, offsets: Sequence[int]) -> tuple[str, Sequence[int]]:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered, offsets
    pieces: list[str] = []
    new_offsets: list[int] = []
    for ch, at in zip(text, offsets, strict=True):
        low = ch.lower()
        pieces.append(low)
        new_offsets.extend([at] * len(low))
    return "".join(pieces), new_offsets


def _join_spaced(match: re.Match[str]) -> tuple[str, list[int]] | None:
    spelled = match.group()
    joined = spelled[::2]
    # "а я в" are words of their own, not a word spelled apart.
    if len(joined) == 3 and set(joined.lower()) <= _ONE_LETTER_WORDS:
        return None
    chars: list[str] = []
    positions: list[int] = []
    capitals = sum(ch.isupper() for ch in joined) >= 2
    for i, ch in enumerate(joined):
        at = 2 * i
        if capitals and ch.islower() and ch in _ONE_LETTER_WORDS:
            # "М Е Ф и З А К Л А Д К И": a lower-case "и" among capitals is a word of its own.
            chars += [" ", ch, " "]
            positions += [max(at - 1, 0), at, min(at + 1, len(spelled) - 1)]
        else:
            chars.append(ch)
            positions.append(at)
    return "".join(chars), positions


def _squeeze(match: re.Match[str]) -> str | None:
    """A letter three or more times becomes one ("мееееф"); "!!!!" becomes "!"; digits stay."""
    ch = match.group(1)
    if ch.isalpha() or (ch in "!?.,)(*" and len(match.group()) >= 4):
        return ch
    return None


def _fold_mixed(word: str) -> str:
    """Fold look-alikes to the script the word's unambiguous letters belong to."""
    cyr_only = latin_only = 0
    for ch in word:
        if "\u0400" <= ch <= "\u052f":
            cyr_only += ch not in _CYR_TO_LATIN
        elif "a" <= ch <= "z":
            latin_only += ch not in _LATIN_TO_CYR
        elif "\u03b1" <= ch <= "\u03c9":
            cyr_only += ch not in _GREEK_TO_CYR
    if latin_only > cyr_only:
        return "".join(_CYR_TO_LATIN.get(ch, ch) for ch in word)
    return "".join(_LATIN_TO_CYR.get(ch) or _GREEK_TO_CYR.get(ch) or ch for ch in word)


def _fold_digits(match: re.Match[str]) -> str | None:
    word = match.group()
    letters = sum(ch.isalpha() for ch in word)
    if letters < 3 or letters <= len(word) - letters:
        return None  # "15000руб", "4ммс", "5г": numbers with units, not disguised letters
    cyrillic = bool(_CYR.search(word))
    table = _DIGIT_TO_CYR if cyrillic else _DIGIT_TO_LATIN
    out = []
    for i, ch in enumerate(word):
        if ch.isdigit():
            alone = not (i > 0 and word[i - 1].isdigit()) and not (
                i + 1 < len(word) and word[i + 1].isdigit()
            )
            if not alone or ch not in table:
                return None
            out.append(table[ch])
        else:
            out.append(ch)
    folded = "".join(out)
    return _fold_mixed(folded) if cyrillic else folded


def _fold_lookalike_word(match: re.Match[str]) -> str | None:
    text, start, end = match.string, match.start(), match.end()
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return None  # part of a longer word (digits, other letters): not a word of its own
    word = match.group()
    folded = "".join(_LATIN_TO_CYR.get(ch) or _GREEK_TO_CYR.get(ch) or "" for ch in word)
    return folded if len(folded) == len(word) else None


_ASCII = bytes(range(128))
_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())


def _mostly_cyrillic(text: str) -> bool:
    """More Cyrillic than Latin letters (counted on UTF-8 bytes, which is fast)."""
    raw = text.encode("utf-8", "surrogatepass")
    cyr = sum(raw.count(lead) for lead in (b"\xd0", b"\xd1", b"\xd2", b"\xd3", b"\xd4"))
    if not cyr:
        return False
    latin = len(raw.translate(None, _ASCII_NON_LETTERS)) - len(raw.translate(None, _ASCII))
    return cyr > latin


# Steps of ``normalize``; the screen tells which of them a text can need.
NFKC, EMOJI, SPACED, REPEATS, DIGITS, MIXED, LOOKALIKE = (1 << i for i in range(7))
ALL_STEPS = (1 << 7) - 1


def _same_length(text: str, pattern: re.Pattern[str], fold: Callable[[re.Match[str]], str | None]) -> str:
    """A substitution whose replacements keep their length: the offsets stay as they are."""
    return pattern.sub(lambda m: fold(m) or m.group(), text)


def normalize(text: str, steps: int = ALL_STEPS) -> Normalized:
    """The obfuscation-free, lower-case form of ``text`` with offsets into it."""
    if steps & NFKC:
        out, offsets = nfkc_with_offsets(text)
    else:
        out, offsets = text, range(len(text))
    if steps & SPACED:  # before lower case: "М Е Ф и" is "меф и", not "мефи"
        out, offsets = substitute(out, offsets, _SPACED, _join_spaced)
    out, offsets = _lower(out, offsets)
    # Texts screened by ``normalize_many`` carry the traces of their steps; a direct call checks first.
    check = steps == ALL_STEPS
    if steps & EMOJI and (not check or _EMOJI.search(out)):
        out, offsets = substitute(out, offsets, _EMOJI, lambda m: f" {EMOJI_WORDS[m.group()]} ")
    if steps & REPEATS:
        out, offsets = substitute(out, offsets, _REPEATS, _squeeze)
    # The folds below replace letters one for one, so the offsets need no work.
    if steps & DIGITS and (not check or _DIGIT_BY_LETTER.search(out)):
        out = _same_length(out, _HAS_DIGIT_AND_LETTER, _fold_digits)
    if steps & MIXED:
        out = _same_length(out, _MIXED_SCRIPT, lambda m: _fold_mixed(m.group()))
    if steps & LOOKALIKE and _mostly_cyrillic(out):
        # In Cyrillic text, a Latin or Greek word made only of look-alikes is Cyrillic in disguise:
        # "TOBAP", "Β ЛС".
        out = _same_length(out, _LATIN_OR_GREEK_RUN, _fold_lookalike_word)
    return Normalized(out, text, None if isinstance(offsets, range) else tuple(offsets))


def normalize_many(texts: list[str]) -> list[Normalized]:
    """``normalize`` for a batch, with the steps a text cannot need found without regexes.

    One vectorised pass over all texts looks for the traces every step leaves (a digit touching a
    letter, Latin touching Cyrillic, a character three times, spaced single letters, emoji,
    invisible or non-NFKC characters). Texts without any take only ``str.lower``; the others run
    just the steps whose traces they carry. The result is the same as ``normalize``'s, which the
    tests check.
    """
    from shekteu.detect.screen import steps_needed

    lowered = [t.lower() for t in texts]
    needed = steps_needed(texts, lowered).tolist()
    return [
        normalize(text, steps) if steps or len(low) != len(text) else Normalized(low, text)
        for text, low, steps in zip(texts, lowered, needed, strict=True)
    ]


def words(text: str) -> list[tuple[str, int, int]]:
    """Word tokens of a normalised text with their spans in it."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """Russian dictionary form of a Cyrillic word (other words come back unchanged)."""
    if not _CYR.search(word) or not word.isalpha():
        return word
    return _morph().parse(word)[0].normal_form.replace("ё", "е")


def lemmas(text: str) -> list[tuple[str, int, int]]:
    """(lemma, start, end) for every word of a normalised text."""
    return [(lemma(w), s, e) for w, s, e in words(text)]
