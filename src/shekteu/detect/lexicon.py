"""The slang dictionary: words that mark drugs, stashes, courier work, payment and hard negatives.

Shops invent slang faster than any morphological dictionary learns it ("меф", "кладмен", "бошки"),
and the classifier learns poorly from a handful of labelled ads. A small, editable list of terms
grouped by *concept* gives the model features that carry across wording, languages and spelling.
Russian entries marked ``lemma`` are expanded to all their forms with pymorphy3 when a model is
trained, so classification itself needs no morphological analyser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shekteu.detect.normalize import normalize

MATCH_KINDS = ("word", "lemma", "prefix", "phrase")
MIN_PREFIX = 3


class LexiconError(ValueError):
    """The slang file has a line that cannot be read."""


@dataclass(frozen=True)
class Term:
    concept: str
    match: str  # word | prefix | phrase (lemma entries are expanded to words)
    text: str  # normalised; phrase words separated by one space
    lang: str


def default_path() -> Path:
    return Path(str(resources.files("shekteu.detect") / "data" / "slang.tsv"))


def _forms(lemma: str) -> set[str]:
    from shekteu.detect.normalize import _morph

    forms = {lemma}
    for parse in _morph().parse(lemma):
        if parse.normal_form.replace("ё", "е") == lemma:
            forms.update(f.word.replace("ё", "е") for f in parse.lexeme)
    return forms


def load(path: Path | None = None) -> list[Term]:
    """Read and expand the slang file; a bad line raises LexiconError naming it."""
    path = path or default_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"cannot read slang file {path}: {exc}") from None
    terms: dict[tuple[str, str, str], Term] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise LexiconError(f"{path}:{number}: expected 4 tab-separated fields, found {len(fields)}")
        concept, match, raw, lang = (f.strip() for f in fields)
        if match not in MATCH_KINDS:
            raise LexiconError(
                f"{path}:{number}: match must be one of {', '.join(MATCH_KINDS)}, not {match!r}"
            )
        text = " ".join(normalize(raw).text.split())
        if not text or not concept.isidentifier():
            raise LexiconError(f"{path}:{number}: empty term or bad concept name")
        if match == "prefix" and (len(text) < MIN_PREFIX or " " in text):
            raise LexiconError(f"{path}:{number}: a prefix must be one word of {MIN_PREFIX}+ letters")
        if match in ("word", "lemma") and " " in text:
            raise LexiconError(f"{path}:{number}: {match} entries are single words; use phrase")
        if match == "phrase" and text.count(" ") > 2:
            raise LexiconError(f"{path}:{number}: phrases have at most three words")
        forms = _forms(text) if match == "lemma" else {text}
        kind = "word" if match == "lemma" else match
        for form in forms:
            if kind == "phrase" and " " not in form:
                kind = "word"
            terms.setdefault((concept, kind, form), Term(concept, kind, form, lang))
    return sorted([*terms.values(), *_variants(terms.values())], key=lambda t: (t.concept, t.match, t.text))


def _variants(terms: Iterable[Term]) -> list[Term]:
    """Transliterated and misspelt forms of the terms (``spelling``), where they are unambiguous."""
    from shekteu.detect.spelling import spellings

    originals = {(t.match, t.text) for t in terms}
    claims: dict[tuple[str, str], set[str]] = {}
    for term in terms:
        for variant in spellings(term.text, term.match):
            claims.setdefault((term.match, variant), set()).add(term.concept)
    return [Term(next(iter(owners)), kind, text, "variant") for (kind, text), owners in claims.items()
            if len(owners) == 1 and (kind, text) not in originals]  # fmt: skip


def concepts(terms: list[Term]) -> list[str]:
    return sorted({t.concept for t in terms})
