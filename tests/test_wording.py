"""Refusals carry their template: English for the CLI, the catalogs' language for the dashboard."""

from __future__ import annotations

import pickle

import pytest

from shekteu.shops.edit import ShopError
from shekteu.takedown.lifecycle import TakedownError
from shekteu.tips.status import TipStatusError
from shekteu.web.i18n import translator
from shekteu.wording import N_, Refusal, Term, Terms, said, wording


def test_a_refusal_is_english_text_and_a_template_for_other_languages() -> None:
    exc = TipStatusError(N_("ticket {ticket} is {status}: it can become {allowed}, not {to}"), ticket="T-1",
                         status=Term("closed"), allowed=Terms(["in_review", "rejected"]), to=Term("received"))  # fmt: skip
    assert str(exc) == "ticket T-1 is closed: it can become in_review, rejected, not received"
    ru = exc.said.text(translator("ru"))
    for word in ("closed", "in_review", "rejected", "received"):
        assert translator("ru")(word) in ru and translator("ru")(word) != word
    assert ru.startswith("обращение T-1")
    assert wording(ValueError("plain")) == "plain" and wording(exc) is exc.said


def test_a_passed_on_refusal_keeps_its_template_and_survives_pickling() -> None:
    inner = ShopError(N_("no shop with id {id}"), id=7)
    outer = TipStatusError.like(inner)
    assert isinstance(outer, TipStatusError) and outer.said == inner.said
    assert outer.said.text(translator("kk")) == "7 нөмірлі дүкен жоқ"
    assert str(TakedownError.like(ValueError("x {y}"))) == "x {y}"  # a plain message is never formatted
    again = pickle.loads(pickle.dumps(outer))  # worker processes hand errors back pickled
    assert str(again) == str(outer)


def test_braces_in_values_are_not_formatted_again() -> None:
    shown = said(N_("not a web address: {target!r}"), target="{__class__}").text(translator("ru"))
    assert shown == "это не веб-адрес: '{__class__}'"
    with pytest.raises(Refusal) as refused:
        raise TakedownError(N_("not a domain name: {target!r}"), target="{x}")
    assert str(refused.value) == "not a domain name: '{x}'"
