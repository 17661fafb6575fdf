"""Benchmark: joining items into shops — time and peak memory for 100k items and 20k indicators.

Generates a synthetic world of shops (each with a bot, an operator, a wallet and a phone), writes
items that mention one or two of their shop's identifiers (and, for 1 % of them, another shop's,
which forces merges; 3 % copy an earlier ad, which makes near-duplicate suggestions) straight into
a fresh database, then runs the same ``link_items`` the analysis
step runs, in its batches of 256. Prints items/s, shops found against shops planted, merges,
suggestions and peak memory (the process's maximum RSS before and after clustering).

    python bench/shops.py [--items 100000] [--indicators 20000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from shekteu.db import Database
from shekteu.db.tables import Indicator, Item, ItemIndicator, Shop, ShopSuggestion, utcnow
from shekteu.shops.cluster import Incoming, link_items
from shekteu.shops.warninglist import Warninglist

WORDS = ("меф кристаллы шишки гашиш альфа клад магнит прикоп район оплата карта крипта бот оператор "
         "скидка качество вес доставка город отзывы гарантия работа курьер").split()  # fmt: skip
KINDS = ("telegram_bot", "telegram_username", "tron", "phone")


def plant(db: Database, n_items: int, n_indicators: int, seed: int = 7) -> tuple[int, list[tuple[int, str]]]:
    rng = random.Random(seed)
    n_shops = n_indicators // len(KINDS)
    now = utcnow()
    indicators = []
    for shop in range(n_shops):
        for k, kind in enumerate(KINDS):
            value = {"telegram_bot": f"@s{shop}_bot", "telegram_username": f"@op{shop}",
                     "tron": f"T{shop:033d}", "phone": f"+7701{shop:07d}"}[kind]  # fmt: skip
            indicators.append({"id": shop * len(KINDS) + k + 1, "type": kind, "key": value, "normalized": value,
                               "valid": True, "detail": {}, "first_seen_at": now})  # fmt: skip
    items, mentions, texts = [], [], []
    for i in range(1, n_items + 1):
        shop = rng.randrange(n_shops)
        own = rng.sample(range(len(KINDS)), rng.choice((1, 2)))
        ids = [shop * len(KINDS) + k + 1 for k in own]
        if rng.random() < 0.01:
            ids.append(rng.randrange(n_shops) * len(KINDS) + 1)
        body = " ".join(rng.choices(WORDS, k=30))
        if texts and rng.random() < 0.03:  # an ad copied from another shop: a near-duplicate suggestion
            body = texts[rng.randrange(len(texts))][1].rsplit(" ", len(ids))[0]
        text = body + " " + " ".join(indicators[j - 1]["normalized"] for j in ids)
        texts.append((i, text))
        items.append({"id": i, "kind": "telegram_post", "key": f"bench/{i}", "url": f"https://t.me/bench/{i}",
                      "source": "bench", "text": text, "text_sha256": f"{i:064x}", "links": [], "media": [],
                      "first_seen_at": now, "last_seen_at": now})  # fmt: skip
        mentions += [
            {"item_id": i, "indicator_id": j, "value": "x", "start": n, "end": n + 1}
            for n, j in enumerate(ids)
        ]
    with db.write() as s:
        s.execute(insert(Indicator), indicators)
        for start in range(0, len(items), 5000):
            s.execute(insert(Item), items[start : start + 5000])
        for start in range(0, len(mentions), 20000):
            s.execute(insert(ItemIndicator), mentions[start : start + 20000])
    return n_shops, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--indicators", type=int, default=20_000)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        t0 = time.perf_counter()
        planted, texts = plant(db, args.items, args.indicators)
        print(f"planted {args.items} items, {args.indicators} indicators, {planted} shops "
              f"in {time.perf_counter() - t0:.1f} s ({db.dialect})")  # fmt: skip
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        merges = 0
        for start in range(0, len(texts), 256):
            batch = [Incoming(i, True, text) for i, text in texts[start : start + 256]]
            with db.write() as s:
                merges += link_items(s, batch, Warninglist.load(s)).merges
        elapsed = time.perf_counter() - t0
        with db.read() as s:
            shops = s.scalar(select(func.count()).select_from(Shop).where(Shop.merged_into.is_(None)))
            suggestions = s.scalar(select(func.count()).select_from(ShopSuggestion))
        db.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"clustering: {elapsed:.1f} s, {args.items / elapsed:,.0f} items/s")
    print(f"shops: {shops} live ({planted} planted); {merges} merges (shops found piecewise, then joined, and "
          f"cross-shop mentions); {suggestions} suggestions")  # fmt: skip
    print(f"peak memory (max RSS): {rss_before:.0f} MiB after planting, {rss:.0f} MiB after clustering")


if __name__ == "__main__":
    main()
