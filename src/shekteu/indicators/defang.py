"""Undo the ways people write a link so that it does not look like one.

Shops, and citizens quoting them, write ``t[.]me/shop``, ``hxxps://``, ``site dot com``,
``name собака mail.ru`` or ``@ shop_bot``, and put zero-width characters or full-width letters
inside. ``refang`` turns these back into plain indicators and keeps, for every character, the
index of the original character, so the finding is shown where it was written.
"""

from __future__ import annotations

import re

from shekteu.detect.normalize import nfkc_with_offsets, substitute

_TLDS = (
    r"(?:com|net|org|ru|kz|su|me|io|info|biz|xyz|top|cc|to|ws|onion|shop|store|site|online|pro|club|рф|қаз)"
)
# (cheap substring triggers in the lower-cased text, pattern, replacement): a rule's regex runs
# only when one of its triggers is present, which is rarely.
_RULES: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    (("hxxp",), re.compile(r"\bhxxp(s?)(?=\[?:)", re.IGNORECASE), "http\\1"),
    (("[:]",), re.compile(r"\bh(?:\*\*|tt)p(s?)\[:\]//", re.IGNORECASE), "http\\1://"),
    (("[:", ":["), re.compile(r"\[:\]//|\[://\]|:\[//\]"), "://"),
    (("[.]", "(.)", "{.}", "[dot]", "(dot)", "[точка]", "(точка)"),
     re.compile(r"(?<=[A-Za-z0-9\u0400-\u04ff])\s*(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[точка\]|\(точка\))\s*"
                r"(?=[A-Za-z0-9\u0400-\u04ff])", re.IGNORECASE), "."),
    ((" dot ", " точка "), re.compile(rf"(?<=[A-Za-z0-9])\s+(?:dot|точка)\s+(?={_TLDS}\b)", re.IGNORECASE), "."),
    (("[at]", "(at)", "[@]", "(@)", " собака ", " at "),
     re.compile(r"(?<=[\w.+-])\s*(?:\[at\]|\(at\)|\[@\]|\(@\)|\s(?:собака|at)\s)\s*(?=[\w-]+(?:\.|\[\.\]|\s+(?:dot|точка)\s+))",
                re.IGNORECASE), "@"),
    (("t .", ". me", "me /", "legram ."), re.compile(r"\b(t|telegram)\s*\.\s*(me|dog)\s*/\s*", re.IGNORECASE), "\\1.\\2/"),
    (("@ ",), re.compile(r"(?<![\w@])@\s+(?=[A-Za-z][A-Za-z0-9_]{3,31}\b)"), "@"),
]  # fmt: skip


# Cyrillic and Greek letters that look like Latin ones, for hostnames written with a few of them
# ("т.me/shop", "t.mе", "аpple.com"): such a host is a Latin host in disguise, never an IDN to block.
_TO_LATIN = str.maketrans("аеорсхукмтвніјѕһԛԝүɑοреΑΒΕΗΙΚΜΝΟΡΤΧΥΖАВЕКМНОРСТХ",
                          "aeopcxykmtbhijshqwyaopeABEHIKMNOPTXYZABEKMHOPCTX")  # fmt: skip
_HOST = re.compile(r"(?<![\w.@-])(?:[\w-]+\.)+[\w-]{2,}")
_LATIN = re.compile(r"[A-Za-z]")


def _fold_host(m: re.Match[str]) -> str | None:
    host = m.group()
    if host.isascii() or not _LATIN.search(host):
        return None  # all Latin, or a real Cyrillic name (пример.рф): as written
    labels = [label.translate(_TO_LATIN) for label in host.split(".")]
    folded = ".".join(t if t.isascii() else orig for t, orig in zip(labels, host.split("."), strict=True))
    return folded if folded != host else None


def refang(text: str) -> tuple[str, list[int]]:
    """Plain text for indicator extraction and, per character, its index in ``text``."""
    out, offsets = nfkc_with_offsets(text)
    low = out.lower()
    for triggers, pattern, template in _RULES:
        if any(t in low for t in triggers) and pattern.search(out):
            out, offsets = substitute(out, offsets, pattern, lambda m, t=template: m.expand(t))
    if "." in out and not out.isascii():
        out, offsets = substitute(out, offsets, _HOST, _fold_host)
    return out, offsets
