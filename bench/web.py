"""Dashboard latency: p50/p99 of the main pages and API calls with 100k tips and 10k shops.

    python bench/web.py [--tips 100000] [--shops 10000] [--requests 50] [--database-url URL]

Fills a fresh database with bulk inserts (tips spread over a year, shops with two indicators each,
2,000 takedowns, 1,000 graffiti spots), serves the real app with uvicorn on a free port and times
sequential requests from one signed-in client over loopback HTTP. Prints one line per page.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert

from shekteu import accounts
from shekteu.db.tables import Indicator, Shop, ShopIndicator, Spot, Takedown, Tip, utcnow
from shekteu.runtime import Runtime
from shekteu.settings import load_settings
from shekteu.users import add_user

PAGES = ["/dash", "/dash/tips", "/dash/tips?status=received", "/dash/shops", "/dash/shops/{shop}", "/dash/takedowns",
         "/dash/board", "/dash/audit", "/api/overview", "/api/tips", "/api/shops", "/api/spots"]  # fmt: skip


def fill(rt: Runtime, tips: int, shops: int) -> None:
    rnd = random.Random(7)
    now = utcnow()
    statuses = ["received"] * 6 + ["in_review", "actioned", "closed", "rejected"]
    with rt.db.write() as s:
        for start in range(0, tips, 10_000):
            s.execute(insert(Tip), [
                {"ticket": f"KZ-{i:04X}-{i * 7 % 65536:04X}", "kind": rnd.choice(["online_shop", "graffiti", "other"]),
                 "channel": rnd.choice(["web", "telegram", "whatsapp"]), "lang": "ru", "pseudonym": f"p{i % 5000}",
                 "text": f"магазин @shop{i % shops}_bot закладки {i}", "links": [], "photos": [], "status": rnd.choice(statuses),
                 "public_status": "received", "score": rnd.random(),
                 "created_at": now - timedelta(minutes=rnd.randrange(525_600)), "updated_at": now}
                for i in range(start, min(tips, start + 10_000))])  # fmt: skip
        s.execute(insert(Shop), [
            {"name": f"@shop{i}_bot", "created_at": now, "updated_at": now, "items": rnd.randrange(1, 50),
             "mirrors": rnd.randrange(3), "tips": rnd.randrange(5), "graffiti": rnd.randrange(3), "reach": rnd.randrange(10**5),
             "score": round(rnd.random() * 60, 2)} for i in range(shops)])  # fmt: skip
        s.execute(insert(Indicator), [
            {"type": "telegram_bot" if k == 0 else "domain", "key": f"{k}:{i}", "valid": True,
             "normalized": f"@shop{i}_bot" if k == 0 else f"shop{i}.example", "first_seen_at": now}
            for i in range(shops) for k in range(2)])  # fmt: skip
        s.execute(insert(ShopIndicator), [{"shop_id": i // 2 + 1, "indicator_id": i + 1, "how": "text"}
                                          for i in range(2 * shops)])  # fmt: skip
        s.execute(insert(Takedown), [
            {"shop_id": rnd.randrange(1, shops + 1), "target_type": "telegram_bot", "target": f"@shop{i}_bot",
             "recipient": "telegram", "state": rnd.choice(["proposed", "approved", "sent", "blocked", "verified"]),
             "proposed_by": "ann", "created_at": now, "updated_at": now, "sent_at": now - timedelta(days=rnd.randrange(80)),
             "blocked_at": now - timedelta(days=rnd.randrange(40))} for i in range(2000)])  # fmt: skip
        s.execute(insert(Spot), [
            {"lat": 43.2 + rnd.random() / 10, "lon": 76.8 + rnd.random() / 10,
             "status": rnd.choice(["reported", "assigned", "painted"]),
             "indicators": [f"@shop{i}_bot"], "reports": 1, "reopened": 0, "created_at": now, "updated_at": now}
            for i in range(1000)])  # fmt: skip
        add_user(s, "ann", ["analyst"], actor="bench")
        accounts.set_password(s, "ann", "bench-password", actor="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    import uvicorn

    from shekteu.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        env = {"SHEKTEU_DATA_DIR": tmp} | (
            {"SHEKTEU_DATABASE_URL": args.database_url} if args.database_url else {}
        )
        rt = Runtime(load_settings(env))
        started = time.perf_counter()
        fill(rt, args.tips, args.shops)
        print(f"filled {args.tips:,} tips, {args.shops:,} shops in {time.perf_counter() - started:.1f} s "
              f"({rt.db.engine.dialect.name})")  # fmt: skip
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(rt), log_level="warning", access_log=False))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=base, timeout=60) as client:
            import re

            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
            client.post("/login", data={"name": "ann", "password": "bench-password", "csrf": token})
            top = client.get("/api/shops", params={"limit": 1}).json()[0]["id"]
            print(f"{'page':34} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}")
            for page in PAGES:
                path = page.format(shop=top)
                times, size = [], 0
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    reply = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert reply.status_code == 200, (path, reply.status_code)
                    size = len(reply.content)
                times.sort()
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                print(f"{path:34} {statistics.median(times):8.1f} {p99:8.1f} {size:9,}")
        server.should_exit = True
        rt.close()


if __name__ == "__main__":
    main()
