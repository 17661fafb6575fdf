"""A language guess cheap enough for the classifier's fast path: ``ru``, ``kk``, ``en`` or ``other``.

``shekteu.text.language.detect_language`` asks a statistical model and is right more often on
short ambiguous texts, but costs more than classifying the message. Here scripts decide: Kazakh-only
letters make Kazakh, Cyrillic otherwise Russian, Latin English (the three working languages), and
anything else — Arabic, Chinese, Greek — is ``other``.
"""

from __future__ import annotations

from shekteu.text.language import cyrillic_text

_KAZAKH = "әғқңөұүһӘҒҚҢӨҰҮҺ"
_ASCII = bytes(range(128))
_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())


def quick_language(text: str) -> str | None:
    if not text or text.isspace():
        return None
    sample = text[:2000]
    raw = sample.encode("utf-8", "surrogatepass")
    cyrillic = sum(raw.count(lead) for lead in (b"\xd0", b"\xd1", b"\xd2", b"\xd3", b"\xd4"))
    latin = len(raw.translate(None, _ASCII_NON_LETTERS)) - len(raw.translate(None, _ASCII))
    # Bytes of other scripts (two to four per letter) weigh against both.
    others = len(raw) - len(raw.translate(None, bytes(range(0xC0, 0x100)))) - cyrillic
    if cyrillic + latin < 3 or others > cyrillic + latin:
        return "other"
    if cyrillic >= latin or (cyrillic and cyrillic_text(sample)):  # Latin product names in Russian
        kazakh = sum(sample.count(ch) for ch in _KAZAKH)
        return "kk" if kazakh and kazakh * 50 >= cyrillic else "ru"
    return "en"
