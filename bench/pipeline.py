"""Pipeline throughput through capture → analyse → link, with 1, 2 and 4 worker processes.

A local HTTP server serves N shop and news pages; N ``capture`` jobs are queued at once and
``shekteu worker`` processes (one thread each) run them and the ``analyse`` jobs they hand on, until
the queue is empty. Prints items/s, the p50/p99 time from enqueue to the item's verdict, shops made,
and on PostgreSQL the longest write transaction seen (sampled from pg_stat_activity every 20 ms).

Run: python bench/pipeline.py [--pages 400] [--workers 1,2,4] [--latency 0,200] [--pg postgresql+psycopg://…]
     [--sqlite-only]

Pages served at once measure the CPU: on a 2-core machine the workers share two cores, whatever
their number. Pages that take as long to arrive as they do from the Internet (``--latency``) measure
whether workers scale out: what one worker spends waiting, another spends working.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from local_pages import serve_pages

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shekteu_dev"
DRUGS = ["Меф", "Альфа PVP", "Шишки АК-47", "Гашиш", "Мефедрон кристаллы", "Соль", "Амфетамин"]
NEWS = ["Погода в Астане: завтра без осадков.", "В Алматы открыли новый парк.", "Курс тенге к доллару вырос.",
        "Полиция провела профилактику в школах.", "Матч Кайрата перенесли на субботу."]  # fmt: skip


def page(i: int, rng: random.Random) -> bytes:
    if i % 4 == 3:
        body = " ".join(rng.choice(NEWS) for _ in range(6))
    else:
        shop = i // 3  # three pages per shop: they share its bot and phone
        body = (f"{rng.choice(DRUGS)} в наличии. Клады по городу, фото с координатами. Бот @shop{shop:04d}_bot, "
                f"звони +7 701 {500 + shop % 400:03d} {shop % 100:02d} {i % 3:02d}. Оплата на карту, скидки.")  # fmt: skip
    return f"<html><head><title>page {i}</title></head><body><article><p>{body}</p></article></body></html>".encode()


def serve(pages: int, latency: float = 0.0) -> tuple[Any, str]:
    rng = random.Random(7)
    bodies = {f"/p/{i}": page(i, rng) for i in range(pages)}

    def lookup(path: str) -> bytes | None:  # /p/7, or /p7_bot as a t.me address of page 7
        return bodies.get(path) or bodies.get("/p/" + path[2:].removesuffix("_bot"))

    return serve_pages(lookup, latency)


def wait_idle(rt: Any, stages: tuple[str, ...] | None = None, seconds: float = 1800) -> None:
    """Until no job (of ``stages``) is pending, running or failed-and-waiting."""
    from shekteu.db.ops_tables import Job

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        query = select(func.count()).select_from(Job).where(Job.state.in_(("pending", "running", "failed")))
        with rt.db.read() as s:
            if not s.scalar(query.where(Job.stage.in_(stages)) if stages else query):
                return
        time.sleep(0.1)


class LongestWrite(threading.Thread):
    """The longest-lived write transaction (it has an xid) seen in this database, sampled."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(url)
        self.longest = 0.0
        self.query = ""  # the statement the longest one was running or waiting on when seen
        self.by_process: dict[str, tuple[float, str]] = {}  # application_name → (seconds, statement)
        self.stop = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                row = conn.execute(text(
                    "SELECT extract(epoch FROM clock_timestamp() - xact_start), wait_event_type, left(query, 80), "
                    "application_name FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                    "AND datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 1"
                )).first()  # fmt: skip
                conn.rollback()
                if row and float(row[0]) > self.by_process.get(row[3], (0.0, ""))[0]:
                    self.by_process[row[3]] = (float(row[0]), f"{row[1] or 'running'}: {' '.join(row[2].split())}")
                if row and float(row[0]) > self.longest:
                    self.longest = float(row[0])
                    self.query = f"{row[3]}, {row[1] or 'running'}: {' '.join(row[2].split())}"
                self.stop.wait(0.02)


def one_run(label: str, database_url: str, base: str, pages: int, workers: int, watch_url: str | None) -> None:
    from shekteu.db.ops_tables import Job
    from shekteu.db.tables import Capture, Item, Shop, Verdict
    from shekteu.queue import handoffs
    from shekteu.runtime import Runtime
    from shekteu.settings import load_settings

    data = Path(tempfile.mkdtemp(prefix="shekteu-bench-"))
    env = {"SHEKTEU_DATA_DIR": str(data), "SHEKTEU_DATABASE_URL": database_url,
           "SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "SHEKTEU_WORKER_CONCURRENCY": "1",
           "SHEKTEU_WORKER_POLL_SECONDS": "0.2", "SHEKTEU_CAPTURE_PROCESSES": "1",
           "SHEKTEU_SCREENSHOTS": "false"}  # fmt: skip
    rt = Runtime(load_settings(env))  # migrates
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    procs = [subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "worker"], env=full,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    time.sleep(4)  # let them import and start polling
    start = time.monotonic()
    with rt.db.write() as s:
        for i in range(pages):
            handoffs.urls_to_capture(s, [f"{base}/p/{i}"])
    watcher = LongestWrite(watch_url) if watch_url else None  # the workers' transactions, not this enqueue
    if watcher:
        watcher.start()
    wait_idle(rt, ("capture", "analyse"))
    wall = time.monotonic() - start
    if watcher:
        watcher.stop.set()
        watcher.join()
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)
    with rt.db.read() as s:
        jobs = s.execute(select(Job.payload, Job.created_at).where(Job.stage == "capture")).all()
        created = {p["urls"][0]: at for p, at in jobs}
        done = s.execute(select(Capture.url, Verdict.created_at).join(Item, Item.capture_id == Capture.id)
                         .join(Verdict, Verdict.item_id == Item.id)).all()  # fmt: skip
        shops = s.scalar(select(text("count(*)")).select_from(Shop).where(Shop.merged_into.is_(None)))
        quarantined = s.scalar(select(text("count(*)")).select_from(Job).where(Job.state == "quarantined"))
    latencies = sorted((at - created[url]).total_seconds() for url, at in done if url in created)
    rt.close()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    longest = f"{watcher.longest * 1000:7.0f} ms ({watcher.query})" if watcher else "      n/a"
    print(f"{label:<12}{workers:>8}{len(done):>8}{len(done) / wall:>10.1f}{pct(0.5):>9.1f}{pct(0.99):>9.1f}"
          f"{shops:>7}{quarantined:>6}  {longest}", flush=True)  # fmt: skip


def pg_schema(url: str) -> str:
    """A fresh schema in the PostgreSQL database at ``url``; the URL that uses it."""
    schema = "bench_" + uuid.uuid4().hex[:10]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--latency", default="0,200",
                        help="milliseconds each page takes to arrive, one run per value (the Internet's: 100–1000)")
    args = parser.parse_args()
    print(f"{args.pages} pages, {os.cpu_count()} cores; items/s through capture → analyse → link")
    for latency in [float(ms) for ms in args.latency.split(",")]:
        httpd, base = serve(args.pages, latency / 1000)
        print(f"\npages arrive after {latency:.0f} ms")
        print(f"{'database':<12}{'workers':>8}{'items':>8}{'items/s':>10}{'p50 s':>9}{'p99 s':>9}{'shops':>7}"
              f"{'quar.':>6}  longest write")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            one_run("sqlite", f"sqlite:///{tmp}/bench.db", base, args.pages, 1, None)
        if not args.sqlite_only:
            for n in [int(w) for w in args.workers.split(",")]:
                one_run("postgresql", pg_schema(args.pg), base, args.pages, n, args.pg)
        httpd.shutdown()


if __name__ == "__main__":
    main()
