"""The dashboard's languages: English source strings, Russian and Kazakh gettext catalogs.

The catalogs ship as ``locales/<lang>.po`` (text, easy to review and edit) and are compiled in memory
with Babel when first needed, so no build step and no binary ``.mo`` files are involved. A string
missing from a catalog shows in English; a test keeps the catalogs complete.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from shekteu.wording import N_, Said, wording

__all__ = ["LANGS", "NAMES", "N_", "pick", "source_strings", "translator"]

LANGS = ("ru", "kk", "en")
NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}


def catalog_path(lang: str) -> str:
    return str(resources.files("shekteu.web").joinpath("locales", f"{lang}.po"))


@lru_cache(maxsize=len(LANGS))
def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en" or lang not in LANGS:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(catalog_path(lang), "rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


# Words the templates translate from data (states, kinds, recipients): not visible to the extractor.
VOCABULARY = (
    "received", "in_review", "actioned", "closed", "rejected", "online_shop", "graffiti", "other",
    "proposed", "approved", "sent", "blocked", "verified", "reappeared", "regulator", "telegram", "bank", "hosting",
    "reported", "assigned", "painted", "confirmed", "merged", "separated", "suggested",
    "footstep", "vehicle", "silent", "flat", "clipped", "clock", "open", "ilp", "ilp-time-limit", "greedy",
    "sources_disagree", "headline_vs_body", "unit_off_by_1000", "parts_above_total", "nothing", "done", "dropped",
)  # fmt: skip
_CALL = re.compile(r"""\b(?:N_|_)\(\s*(["'])((?:\\.|(?!\1).)+)\1\s*\)""")


def source_strings() -> set[str]:
    """Every string the dashboard translates: the `_(text)` and `N_(text)` calls in templates, web modules
    and the library (refusals shown as flash messages, see ``shekteu.wording``)."""
    root = resources.files("shekteu.web")
    found = set(VOCABULARY)
    paths: list = list(Path(str(resources.files("shekteu"))).rglob("*.py"))  # the library's refusals too
    paths += [p for p in root.joinpath("templates", "dash").iterdir() if p.name.endswith(".html")]
    for path in paths:
        found.update(m.group(2) for m in _CALL.finditer(path.read_text(encoding="utf-8")))
    return found


def translator(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def in_language(exc: BaseException, lang: str | None) -> str:
    """What ``exc`` says, in ``lang`` where it is a ``Refusal`` (else its own text)."""
    told = wording(exc)
    return told.text(translator(lang or "ru")) if isinstance(told, Said) else told


def pick(accept_language: str, preferred: str | None = None) -> str:
    """The user's chosen language, else the first of ours in Accept-Language, else Russian."""
    if preferred in LANGS:
        return preferred
    for part in accept_language.lower().split(","):
        code = part.split(";")[0].strip()[:2]
        if code in LANGS:
            return code
    return "ru"
