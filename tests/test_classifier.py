"""The shipped detector: labels, scores and explanations; training is reproducible; bad files are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shekteu.detect import model, train
from shekteu.detect.model import Detector, ModelError, load_detector

SALE = "В наличии меф, шишки, альфа. Готовые клады по городу, оплата в крипте. Заказ в боте @snegkz_bot"
RECRUIT = "Требуются курьеры-закладчики: раскидать товар по городу, оплата 30 000 в день, пиши в лс"
NEWS = "В Алматы полицейские задержали закладчика с 50 граммами мефедрона. Возбуждено уголовное дело."
JOB = "Требуются комплектовщики на склад, оплата от 12 000 за смену, официальное оформление."
CHAT = "Всем привет! Кто идёт завтра на футбол?"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector()


def test_clear_cases_get_their_labels(detector: Detector) -> None:
    verdicts = detector.classify([SALE, RECRUIT, NEWS, JOB, CHAT])
    assert [v.label for v in verdicts] == ["sale", "recruit", "drug_other", "other", "other"]
    assert verdicts[0].score > 0.9 and verdicts[1].score > 0.9
    assert max(v.score for v in verdicts[2:]) < 0.2
    for v in verdicts:
        assert abs(sum(v.probabilities.values()) - 1) < 1e-3
        assert v.score == pytest.approx(v.probabilities["sale"] + v.probabilities["recruit"], abs=2e-4)


@pytest.mark.parametrize(
    "disguised",
    [
        "В наличии MEФ, шишки, альфа. Гoтoвые клaды пo гoрoду, оплата в крипте. Заказ в боте @snegkz_bot",
        "В наличии М Е Ф, ш и ш к и. Г0т0вые клады по г0р0ду, 0плата в крипте. Заказ в боте @snegkz_bot",
        "В наличии ❄️ 🌿 альфа. Готовые кл\u200bады по городу, оплата в крипте. Заказ в боте @snegkz_bot",
    ],
)
def test_obfuscation_does_not_change_the_verdict(detector: Detector, disguised: str) -> None:
    (verdict,) = detector.classify([disguised])
    assert verdict.label == "sale" and verdict.score > 0.8


def test_terms_are_spans_of_the_original_text(detector: Detector) -> None:
    text = "Гoтoвые клaды, М Е Ф и шишки, пиши @snegkz_bot"
    (verdict,) = detector.classify([text])
    assert verdict.terms
    for term in verdict.terms:
        assert text[term.start : term.end] == term.term
    assert any(t.term == "М Е Ф" for t in verdict.terms)
    assert "drug" in verdict.concepts and "stash" in verdict.concepts


def test_a_disclaimer_is_not_an_offer(detector: Detector) -> None:
    (verdict,) = detector.classify(
        ["Работа на телефоне, оплата от 5000 в день. НЕ закладки, не наркотики! Пиши в лс"]
    )
    assert verdict.label not in ("sale", "recruit")


def test_batches_and_single_calls_agree(detector: Detector) -> None:
    texts = [SALE, RECRUIT, NEWS, JOB, CHAT, "", "   ", "😀" * 50]
    batch = detector.classify(texts)
    for text, verdict in zip(texts, batch, strict=True):
        (single,) = detector.classify([text])
        assert single.label == verdict.label and single.score == verdict.score



def test_a_batch_longer_than_one_pass_is_scored_as_its_texts_alone(detector: Detector) -> None:
    # Long pages are scored in passes of about CHUNK_CHARS characters: a page at a pass boundary, a
    # page longer than a pass and the short texts after them get the verdicts and terms they get alone.
    filler = "Новости города: погода, спорт, школа и рынок. "
    n = model.CHUNK_CHARS // len(filler)
    texts = [filler * (n // 2) + SALE, JOB, filler * (n + 5) + RECRUIT, filler * (n // 2) + NEWS, SALE, CHAT,
             filler * (n // 3) + SALE]  # fmt: skip
    assert sum(map(len, texts)) > 2 * model.CHUNK_CHARS and len(texts[2]) > model.CHUNK_CHARS
    batch = detector.classify(texts)
    assert [batch[i].label for i in (1, 4, 5)] == ["other", "sale", "other"]
    for text, verdict in zip(texts, batch, strict=True):
        (single,) = detector.classify([text])
        assert (single.label, single.score, single.probabilities, single.concepts) == (
            verdict.label, verdict.score, verdict.probabilities, verdict.concepts)  # fmt: skip
        assert [t.as_json() for t in single.terms] == [t.as_json() for t in verdict.terms]
        assert len(verdict.terms) <= model.MAX_TERMS
        assert all(t.weight >= model.MIN_PUSH for t in verdict.terms)

def test_training_is_reproducible_and_learns(tmp_path: Path) -> None:
    examples = train.synthetic(80, seed=3)
    first = train.fit(examples, bits=16)
    second = train.fit(examples, bits=16)
    a, b = first.save(tmp_path / "a.npz"), second.save(tmp_path / "b.npz")
    assert a == b and (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = Detector.load(tmp_path / "a.npz")
    assert loaded.version == a
    assert np.array_equal(loaded.weights, first.weights.astype(np.float16).astype(np.float32))
    held_out = train.synthetic(30, seed=99)
    pairs = [
        (e.label, v.label) for e, v in zip(held_out, loaded.classify([e.text for e in held_out]), strict=True)
    ]
    assert train.scores(pairs)["binary"]["f1"] > 0.8


def test_training_refuses_unusable_data(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "x", "label": "sale"}\n{"text": "y", "label": "spam"}\n', encoding="utf-8")
    with pytest.raises(train.TrainingError, match=r"data\.jsonl:2: unknown label 'spam'"):
        train.read_labelled(path)
    with pytest.raises(train.TrainingError, match="too few"):
        train.fit([train.Example("x", "sale")])


def test_a_corrupt_model_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"model\.npz"):
        Detector.load(path)


def test_the_shipped_model_is_small_and_describes_its_training(detector: Detector) -> None:
    from shekteu.detect.model import default_path

    assert default_path().stat().st_size < 20_000_000
    assert detector.meta["examples"]["sale"] > 0 and "cross_validation" in detector.meta
