"""Spellings of a slang term that shops use to slip past filters: Latin transliteration and typos.

Real ads the first model missed wrote "shishki", "kladmen", "кллады", "мефф" and "зкладки": the
term in Latin letters, a letter doubled, a letter dropped. Folding such text back is guesswork
(is "plan" English or "план"?), but the dictionary knows which words matter, so each term is
instead expanded to the ways it gets written, once, when a model is trained. Matching stays a
hash lookup and the fast path pays nothing.

A variant that is itself an ordinary Russian word ("клда" is not; "када" is) is left out, so a
typo rule never turns everyday text into slang.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

# Transliteration as people type it in chats, with the common alternatives per letter.
_TRANSLIT: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "д": ("d",), "е": ("e",), "ё": ("e", "yo"),
    "ж": ("zh", "j"), "з": ("z",), "и": ("i",), "й": ("y", "i", "j"), "к": ("k",), "л": ("l",), "м": ("m",),
    "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u",), "ф": ("f",),
    "х": ("h", "kh", "x"), "ц": ("c", "ts"), "ч": ("ch",), "ш": ("sh", "w"), "щ": ("sch", "sh"),
    "ъ": ("",), "ы": ("y", "i"), "ь": ("",), "э": ("e",), "ю": ("yu", "ju"), "я": ("ya", "ja", "ia"),
    "і": ("i",), "ә": ("a",), "ғ": ("g",), "қ": ("k", "q"), "ң": ("n",), "ө": ("o",), "ұ": ("u",), "ү": ("u",),
    "һ": ("h",),
}  # fmt: skip
MAX_TRANSLIT = 6  # spellings per term; the first alternative of each letter always comes first
MIN_TRANSLIT = 4  # shorter terms ("мет" → "met", "план" → "plan") are English words too often
MIN_DOUBLE = 3
MIN_DROP = 6
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
_VOWELS = set("аеиоуыэюяё")
# Vowels people confuse when writing by ear ("гатовые", "закладчек", "шышки").
_CONFUSED = {"а": "о", "о": "а", "е": "и", "и": "еы", "ы": "и", "э": "е", "я": "а", "ё": "о"}
MIN_CONFUSED = 4


@lru_cache(maxsize=1)
def _known():
    from shekteu.detect.normalize import _morph

    return _morph().word_is_known


def transliterations(word: str) -> list[str]:
    """Latin spellings of a Cyrillic word, the most usual first (empty for other words)."""
    if not _CYRILLIC_WORD.fullmatch(word) or len(word) < MIN_TRANSLIT:
        return []
    options = [_TRANSLIT.get(ch, (ch,)) for ch in word]
    out: list[str] = []
    for combo in itertools.product(*options):
        spelled = "".join(combo)
        if spelled not in out:
            out.append(spelled)
        if len(out) >= MAX_TRANSLIT:
            break
    return out


def typos(word: str) -> set[str]:
    """One letter doubled ("кллады", "мефф"), one vowel written by ear ("гатовые", "шышки") or, in longer
    words, one inner letter dropped ("зкладки")."""
    if not word.isalpha():
        return set()
    out = set()
    if len(word) >= MIN_DOUBLE:
        out |= {word[: i + 1] + word[i:] for i in range(len(word))}
    if len(word) >= MIN_CONFUSED:
        out |= {word[:i] + other + word[i + 1 :] for i, ch in enumerate(word) for other in _CONFUSED.get(ch, "")}
    if len(word) >= MIN_DROP:
        # Dropping a letter next to a vowel keeps the word readable and is what spammers do.
        out |= {word[:i] + word[i + 1 :] for i in range(1, len(word) - 1)
                if word[i] in _VOWELS or word[i - 1] in _VOWELS}  # fmt: skip
    out.discard(word)
    return out


def spellings(text: str, kind: str) -> set[str]:
    """Other spellings of a dictionary entry (``word``, ``prefix`` or ``phrase`` text)."""
    if text.startswith("emj"):
        return set()  # emoji stand-ins are written by ``normalize``, never by people
    if kind == "phrase":
        words = text.split(" ")
        out = set()
        for i, w in enumerate(words):
            for variant in transliterations(w)[:2]:
                out.add(" ".join([*words[:i], variant, *words[i + 1 :]]))
        if all(_CYRILLIC_WORD.fullmatch(w) for w in words):
            latin = [transliterations(w)[:1] or [w] for w in words]
            out.add(" ".join(x[0] for x in latin))
        return out - {text}
    out = set(transliterations(text))
    known = _known()
    for typo in typos(text):
        if kind == "prefix" or not _CYRILLIC_WORD.fullmatch(typo) or not known(typo):
            out.add(typo)
    if kind == "prefix":
        out = {v for v in out if len(v) >= 4}
    return out - {text}
