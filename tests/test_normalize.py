"""Normalisation undoes each obfuscation trick, maps spans back, and the batch path agrees with it."""

from __future__ import annotations

import random

import pytest

from shekteu.detect.lexicon import LexiconError, load
from shekteu.detect.normalize import lemma, normalize, normalize_many


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("MEФ", "меф"),  # Latin look-alikes inside a Cyrillic word
        ("Ρабοта", "работа"),  # Greek rho and omicron
        ("с0ль", "соль"),  # digit for a letter
        ("3акладки", "закладки"),
        ("М Е Ф", "меф"),  # spaced letters
        ("з.а.к.л.а.д.к.и", "закладки"),
        ("мееееф", "меф"),  # repeated letters
        ("за\u200bкла\u200dдки", "закладки"),  # zero-width characters
        ("к\u0336л\u0336а\u0336д", "клад"),  # combining strike-through
        ("ＭＥＦ", "mef"),  # full-width letters (NFKC), Latin text stays Latin
        ("❄️", " emjsnow "),
        ("ПPИBETCTBУEM", "приветствуем"),
    ],
)
def test_each_trick_is_undone(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15000руб", "15000руб"),  # a number with its unit is not a disguised word
        ("4-ММС", "4-ммс"),
        ("а я в шоке", "а я в шоке"),  # real one-letter words are not joined
        ("hello world", "hello world"),
        ("3г", "3г"),
    ],
)
def test_ordinary_text_is_left_alone(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_spans_point_back_into_the_original() -> None:
    raw = "Купи М Е Ф и мееееф за\u200bклад тут"
    norm = normalize(raw)
    for word in ("меф", "заклад"):
        for start in [i for i in range(len(norm.text)) if norm.text.startswith(word, i)]:
            a, b = norm.span(start, start + len(word))
            assert normalize(raw[a:b]).text == word


def _hostile(rng: random.Random) -> str:
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщыьэюяәғқңөұүһіaeopcxykmtABCEHKMOPTXYnsrdfgl0123456789 .-*_!?\n"
    extras = [
        "\u200b",
        "\u0336",
        "❄️",
        "🌿",
        "ＭＥＦ",
        "İ",
        "ﬁ",
        "ß",
        "\ufeff",
        "Ρ",
        "ο",
        " username ",
        " TOBAP ",
        " с0ль ",
    ]
    parts = [
        rng.choice(alphabet) if rng.random() < 0.9 else rng.choice(extras) for _ in range(rng.randint(0, 60))
    ]
    return "".join(parts)


def test_the_batch_path_gives_the_same_result_as_the_full_path() -> None:
    rng = random.Random(7)
    texts = [_hostile(rng) for _ in range(3000)] + ["", " ", "обычный текст без фокусов", "plain text"]
    for batch, text in zip(normalize_many(texts), texts, strict=True):
        full = normalize(text)
        assert batch.text == full.text, text
        for i in range(len(batch.text)):
            assert batch.span(i, i + 1) == full.span(i, i + 1)


def test_lemmas_come_from_pymorphy() -> None:
    assert lemma("закладки") == "закладка"
    assert lemma("раскидали") == "раскидать"
    assert lemma("weed") == "weed"


def test_the_slang_dictionary_expands_lemmas(tmp_path) -> None:
    path = tmp_path / "slang.tsv"
    path.write_text("# c\ndrug\tlemma\tкристалл\tru\nstash\tprefix\tзаклад\tru\n", encoding="utf-8")
    terms = load(path)
    words = {t.text for t in terms if t.match == "word"}
    assert {"кристалл", "кристаллы", "кристаллов", "кристаллами"} <= words


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("drug\tword\tмеф", "expected 4"),
        ("drug\tregex\tмеф\tru", "match must be one of"),
        ("drug\tprefix\tме\tru", "prefix must be one word"),
        ("drug\tword\tдва слова\tru", "use phrase"),
    ],
)
def test_a_bad_slang_line_is_named(tmp_path, line: str, problem: str) -> None:
    path = tmp_path / "slang.tsv"
    path.write_text(f"drug\tword\tмеф\tru\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=f"slang.tsv:2: .*{problem}"):
        load(path)
