"""A page whose text changed is re-linked from its new text; Russian with Latin names stays Russian."""

from __future__ import annotations

from sqlalchemy import select

from shekteu.capture.web import capture_urls
from shekteu.db.tables import Indicator, Item, ItemIndicator, ShopIndicator, ShopItem
from shekteu.detect.language import quick_language
from shekteu.runtime import Runtime
from shekteu.text.language import detect_language
from tests.servers import LocalServer, Reply
from tests.test_shops import sale


def _page(text: str) -> bytes:
    return f"<html><head><title>Магазин</title></head><body><p>{text}</p></body></html>".encode()


def test_a_changed_page_loses_its_old_mentions_and_shop(rt: Runtime, web: LocalServer) -> None:
    web.route("/shop", Reply(200, _page(sale("@alpha_kz_shop_bot"))))
    capture_urls(rt, [web.url("/shop")])
    web.route("/shop", Reply(200, _page(sale("@beta_kz_shop_bot", "Новый адрес."))))
    capture_urls(rt, [web.url("/shop")])
    with rt.db.read() as s:
        item = s.scalars(select(Item).where(Item.kind == "web_page")).one()
        mentions = s.execute(
            select(Indicator.normalized, ItemIndicator.start, ItemIndicator.end)
            .join(Indicator, Indicator.id == ItemIndicator.indicator_id).where(ItemIndicator.item_id == item.id)
        ).all()  # fmt: skip
        named = {m.normalized for m in mentions if m.start >= 0}
        assert named == {"@beta_kz_shop_bot"}, mentions
        for m in mentions:  # every span points into the text as it is now
            if m.start >= 0:
                assert item.text[m.start : m.end].lower() == m.normalized.lower()
        shop = s.scalar(select(ShopItem.shop_id).where(ShopItem.item_id == item.id))
        owned = set(s.scalars(select(Indicator.normalized).join(ShopIndicator, ShopIndicator.indicator_id == Indicator.id)
                              .where(ShopIndicator.shop_id == shop)))  # fmt: skip
        assert "@beta_kz_shop_bot" in owned


def test_russian_with_latin_product_names_is_never_english() -> None:
    texts = [
        "Продаю Mephedrone, Alpha PVP, Kush — оплата BTC, USDT, пиши @shop_kz",
        "Mephedrone, Kush, Amnesia Haze в наличии. Оплата BTC/LTC, доставка",
        "Работа курьером: KLAD, 1000$ в неделю, пиши в TG @hr_kz",
    ]
    for text in texts:
        assert detect_language(text) == "ru", text
        assert quick_language(text) == "ru", text
    assert detect_language("Hello, the shop is open, write to @shop_kz") == "en"
    assert quick_language("Hello, the shop is open, write to @shop_kz") == "en"
