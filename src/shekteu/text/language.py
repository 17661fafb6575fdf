"""Language of a text: ``ru``, ``kk``, ``en`` or ``other`` (None for no text at all).

Lingua is restricted to the three working languages, which makes it fast and keeps Kazakh from
being confused with languages we never see. Kazakh-only letters (әғқңөұүһі) decide Kazakh outright
when they are frequent enough, since short Kazakh messages often look Russian to a statistical
model. Mostly-Cyrillic text is never English. Text whose letters are mostly neither Cyrillic nor
Latin is ``other``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
SAMPLE_CHARS = 1000  # a long page's first thousand characters decide as well, ten times faster
MIN_LETTERS = 3


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.RUSSIAN, Language.KAZAKH, Language.ENGLISH).build()


_CYRILLIC = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_LETTER = re.compile(r"[^\W\d_]")
_KAZAKH = re.compile("[" + "".join(sorted(KAZAKH_LETTERS)) + "]")


def _script_counts(text: str) -> tuple[int, int, int, int]:
    """Cyrillic, Latin, other-script and Kazakh-only letter counts."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    letters = len(_LETTER.findall(text))
    return cyr, lat, max(letters - cyr - lat, 0), len(_KAZAKH.findall(text))


_NOT_WORDS = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]*@\w+(?:\.\w+)*|\b[A-Z0-9]{2,}\b")
_WORD = re.compile(r"[^\W\d_]{2,}")


def cyrillic_text(text: str) -> bool:
    """At least a third of the words Cyrillic, not counting links, handles and upper-case tokens
    (tickers, acronyms: BTC, USDT, PVP): Russian and Kazakh ads name products in Latin ("Mephedrone,
    Kush, Amnesia Haze в наличии"), English text does not carry Cyrillic words in such numbers."""
    words = _WORD.findall(_NOT_WORDS.sub(" ", text))
    cyrillic = sum(1 for w in words if _CYRILLIC.match(w))
    return cyrillic > 0 and 2 * cyrillic >= len(words) - cyrillic


def detect_language(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    sample = text[:SAMPLE_CHARS]
    cyr, lat, other, kaz = _script_counts(sample)
    letters = cyr + lat + other
    if letters < MIN_LETTERS:
        return "other"
    if other > (cyr + lat):
        return "other"
    # Two per cent Kazakh-only letters is far above what Russian text ever has (Ukrainian і aside,
    # which comes without ә, ғ, қ …).
    if cyr and kaz / cyr >= 0.02 and any(ch in KAZAKH_LETTERS - {"і", "І"} for ch in sample):
        return "kk"
    if cyr and cyrillic_text(sample):
        # Cyrillic text is never English, however many Latin product names, tickers ("BTC") and
        # handles it carries: only Russian or Kazakh are in question.
        return "kk" if _detector().compute_language_confidence(sample, _kazakh()) > 0.5 else "ru"
    found = _detector().detect_language_of(sample)
    if found is None:
        return "other"
    return {"RUSSIAN": "ru", "KAZAKH": "kk", "ENGLISH": "en"}[found.name]


def _kazakh() -> Any:
    from lingua import Language

    return Language.KAZAKH
