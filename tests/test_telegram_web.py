"""Public channel capture from t.me/s-shaped pages served locally: paging, incremental runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shekteu.capture.telegram_web import ChannelError, capture_channel, channel_name, parse_page, parse_views
from shekteu.db.tables import Capture, Item
from shekteu.runtime import Runtime
from tests.pages import tme_page
from tests.servers import LocalServer, Reply

PER_PAGE = 20


def serve_channel(web: LocalServer, channel: str, newest: list[int]) -> None:
    """Serve posts 1..newest[0] with 20 a page, like Telegram (newest page first)."""

    def page(query: dict[str, list[str]]) -> Reply:
        before = int(query.get("before", [newest[0] + 1])[0])
        ids = [i for i in range(1, newest[0] + 1) if i < before][-PER_PAGE:]
        more = ids[0] if ids and ids[0] > 1 else None
        return Reply(200, tme_page(channel, ids, before_link=more).encode())

    web.route(f"/s/{channel}", page)


@pytest.fixture
def tg_rt(make_runtime, web: LocalServer) -> Runtime:
    return make_runtime(SHEKTEU_TELEGRAM_WEB_BASE=web.url("").rstrip("/"))


def test_it_pages_backwards_and_stores_posts_with_permalinks(tg_rt: Runtime, web: LocalServer) -> None:
    serve_channel(web, "snowshop", [45])
    run = capture_channel(tg_rt, "@SnowShop", pages=10)
    assert run.error is None
    assert run.pages == 3
    assert [p.post_id for p in run.new_posts] == list(range(1, 46))
    assert web.hits == ["/s/snowshop", "/s/snowshop?before=26", "/s/snowshop?before=6"]
    post = run.new_posts[-1]
    assert post.permalink == "https://t.me/snowshop/45"
    assert post.text.startswith("Пост 45: клады в наличии\nпишите @snowshop_bot")
    assert post.links == ["https://t.me/snowshop_bot", "https://shop45.example/"]
    assert post.media == ["https://cdn4.telesco.pe/file/photo45.jpg"]
    assert post.views == 45_500
    assert post.date == datetime(2026, 10, 3, 6, 0, tzinfo=UTC)  # 1 Oct 09:00 + 45 h
    with tg_rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 45
        assert s.scalar(select(func.count()).select_from(Capture).where(Capture.error.is_(None))) == 3
        item = s.scalars(select(Item).where(Item.key == "snowshop/45")).one()
        assert item.url == "https://t.me/snowshop/45" and item.lang == "ru"


def test_the_page_limit_is_respected(tg_rt: Runtime, web: LocalServer) -> None:
    serve_channel(web, "snowshop", [100])
    run = capture_channel(tg_rt, "snowshop", pages=2)
    assert run.pages == 2 and len(run.new_posts) == 40


def test_a_second_run_reads_only_new_posts(tg_rt: Runtime, web: LocalServer) -> None:
    newest = [45]
    serve_channel(web, "snowshop", newest)
    capture_channel(tg_rt, "snowshop", pages=10)
    newest[0] = 52
    web.hits.clear()
    run = capture_channel(tg_rt, "snowshop", pages=10)
    assert [p.post_id for p in run.new_posts] == list(range(46, 53))
    assert web.hits == ["/s/snowshop"]  # the first page already reached known posts
    again = capture_channel(tg_rt, "snowshop", pages=10)
    assert again.new_posts == []
    with tg_rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 52


def test_a_missing_channel_is_a_clear_error(tg_rt: Runtime, web: LocalServer) -> None:
    web.route("/s/nochannel", Reply(200, b"<html><body><div class='tgme_page'>Contact</div></body></html>"))
    run = capture_channel(tg_rt, "nochannel")
    assert run.error and "no public posts" in run.error
    web.route("/s/gonechan", Reply(404, b"nope"))
    assert "HTTP 404" in (capture_channel(tg_rt, "gonechan").error or "")


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("@Shop_KZ", "shop_kz"),
        ("https://t.me/s/shop_kz", "shop_kz"),
        ("t.me/shop_kz/123", "shop_kz"),
        ("shop_kz", "shop_kz"),
    ],
)
def test_channel_names_are_read_from_common_forms(raw: str, name: str) -> None:
    assert channel_name(raw) == name


@pytest.mark.parametrize("raw", ["", "@ab", "https://t.me/", "shop kz", "../etc", "1shop", "a" * 40])
def test_bad_channel_names_are_refused(raw: str) -> None:
    with pytest.raises(ChannelError):
        channel_name(raw)


def test_view_counts_are_parsed() -> None:
    assert [parse_views(v) for v in ["845", "1.2K", "3M", "2,5K", "?"]] == [845, 1200, 3_000_000, 2500, None]


def test_posts_of_other_channels_and_broken_markup_are_tolerated() -> None:
    html = tme_page("a_chan", [1, 2], before_link=None).replace(
        'data-post="a_chan/2"', 'data-post="a_chan/x"'
    )
    posts = parse_page(html + "<div class='tgme_widget_message' data-post='<<'>", "https://t.me/s/a_chan")
    assert [p.post_id for p in posts] == [1]


def test_subscribers_become_the_shops_reach(tg_rt: Runtime, web: LocalServer) -> None:
    from shekteu.capture.telegram_web import parse_subscribers
    from shekteu.shops.query import list_shops

    assert parse_subscribers(tme_page("c", [1], before_link=None, subscribers="12.3K")) == 12_300
    assert parse_subscribers(tme_page("c", [1], before_link=None)) is None
    web.route(
        "/s/big_shop",
        Reply(200, tme_page("big_shop", [1, 2, 3], before_link=None, subscribers="48.5K").encode()),
    )
    run = capture_channel(tg_rt, "big_shop")
    assert run.subscribers == 48_500
    with tg_rt.db.read() as s:
        (shop,) = list_shops(s)
    assert shop["reach"] == 48_500 and shop["items"] == 3
