"""Citizen-report intake under load: 1,000 tips at 200 concurrent clients against ``shekteu serve``.

Two hundred citizens, each from its own loopback address, post the same multipart bodies to a
FastAPI hello-world endpoint first (the ceiling this machine gives one uvicorn process), then to the
web form of ``shekteu serve`` with its embedded worker processing the tips as they arrive. The tips:
ad texts, texts naming a shop's bot (captured from a local page server), and 20 % graffiti photos
with a location. Prints acknowledged, stored exactly once, p50/p99 latency, tips/s and the ratio to
the ceiling; how long the worker took to process them all; on PostgreSQL the longest write
transaction seen.

Run: python bench/intake.py [--tips 1000] [--clients 200] [--pg postgresql+psycopg://…] [--sqlite-only] [--ack-only]
     [--no-worker]  (serve alone, SHEKTEU_EMBEDDED_WORKER=false: the intake without the worker beside it)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import PG, LongestWrite, pg_schema, serve, wait_idle

HELLO = """
from fastapi import FastAPI, File, Form, UploadFile
app = FastAPI()
@app.post("/report")
async def report(text: str = Form(""), kind: str = Form("other"), lat: str = Form(""), lon: str = Form(""),
                 photo: UploadFile | None = File(None)):
    if photo is not None:
        await photo.read()
    return {"ok": True, "ticket": "KZ-HELL-O000"}
"""


def photo(rng: random.Random) -> bytes:
    from PIL import Image

    img = Image.effect_noise((1280, 960), 60).convert("RGB")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def tips(n: int) -> list[tuple[dict[str, str], bytes | None]]:
    rng = random.Random(11)
    pictures = [photo(rng) for _ in range(5)]
    out = []
    for i in range(n):
        marker = f"#b{i:05d}"
        if i % 5 == 4:
            out.append(({"kind": "graffiti", "text": f"Надпись на стене {marker}", "lat": f"{43.2 + i * 1e-4:.5f}",
                         "lon": f"{76.9 + i * 1e-4:.5f}"}, rng.choice(pictures)))  # fmt: skip
        elif i % 5 in (2, 3):
            out.append(({"kind": "online_shop", "text": f"Продают мефедрон, бот @p{i % 120}_bot {marker}"}, None))
        else:
            out.append(({"kind": "online_shop", "text": f"Клады по городу, шишки в наличии, пишите {marker}"}, None))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


async def fire(url: str, batch: list[tuple[dict[str, str], bytes | None]], clients: int) -> tuple[list[float], int, float]:
    """``clients`` citizens at once, each from its own loopback address (127.0.x.y), each sending its
    share of the tips one after another."""
    import httpx

    latencies: list[float] = []
    acked = 0

    async def citizen(k: int) -> None:
        nonlocal acked
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.{k // 250}.{k % 250 + 2}")
        async with httpx.AsyncClient(timeout=120, transport=transport) as client:
            for fields, picture in batch[k::clients]:
                files = {"photo": ("wall.jpg", picture, "image/jpeg")} if picture else None
                start = time.monotonic()
                try:
                    reply = await client.post(url, data=fields, files=files)
                except httpx.HTTPError:
                    continue
                latencies.append(time.monotonic() - start)
                acked += reply.status_code == 200 and "KZ-" in reply.text

    start = time.monotonic()
    await asyncio.gather(*(citizen(k) for k in range(clients)))
    return sorted(latencies), acked, time.monotonic() - start


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def line(label: str, latencies: list[float], acked: int, wall: float, stored: str, ratio: str, extra: str) -> None:
    print(f"{label:<22}{acked:>7}{stored:>8}{pct(latencies, 0.5):>8.2f}{pct(latencies, 0.99):>8.2f}"
          f"{acked / wall:>9.1f}{ratio:>7}  {extra}", flush=True)  # fmt: skip


def run_serve(label: str, database_url: str, batch: list, clients: int, ceiling: float, page_base: str,
              watch: str | None, ack_only: bool, worker: bool = True) -> None:  # fmt: skip
    from sqlalchemy import func, select

    from shekteu.db.tables import Tip
    from shekteu.runtime import Runtime
    from shekteu.settings import load_settings

    data = Path(tempfile.mkdtemp(prefix="shekteu-intake-"))
    port = free_port()
    env = {"SHEKTEU_DATA_DIR": str(data), "SHEKTEU_DATABASE_URL": database_url, "SHEKTEU_PORT": str(port),
           "SHEKTEU_TIP_RATE_LIMIT": "100000", "SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
           "SHEKTEU_TELEGRAM_WEB_BASE": page_base, "SHEKTEU_CAPTURE_PROCESSES": "1",
           "SHEKTEU_EMBEDDED_WORKER": "true" if worker else "false"}  # fmt: skip
    rt = Runtime(load_settings(env))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    server = subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "serve"], env=full,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_up(port)
        watcher = LongestWrite(watch) if watch else None
        if watcher:
            watcher.start()
        t0 = time.monotonic()
        latencies, acked, wall = asyncio.run(fire(f"http://127.0.0.1:{port}/report", batch, clients))
        if not ack_only and worker:
            wait_idle(rt, ("tip", "capture", "analyse", "spot", "deliver"))
        processed = time.monotonic() - t0
        if watcher:
            watcher.stop.set()
            watcher.join()
        with rt.db.read() as s:
            texts = s.scalars(select(Tip.text)).all()
            done = s.scalar(select(func.count()).select_from(Tip).where(Tip.processed_at.is_not(None)))
        markers = [t.rsplit("#", 1)[-1] for t in texts]
        once = len(set(markers)) == len(markers)
        stored = f"{len(markers)}{'' if once else '!'}"
        longest = "longest write " + ", ".join(f"{app.removeprefix('shekteu ')} {t * 1000:.0f} ms ({q[:60]})" for app, (t, q)
                                               in sorted(watcher.by_process.items())) if watcher else ""  # fmt: skip
        line(label, latencies, acked, wall, stored, f"{acked / wall / ceiling:.2f}",
             f"{done} processed in {processed:.0f} s {longest}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(60)
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tips", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--ack-only", action="store_true", help="stop once every tip is answered")
    parser.add_argument("--no-worker", action="store_true", help="serve without its embedded worker")
    args = parser.parse_args()
    httpd, base = serve(400)
    batch = tips(args.tips)
    print(f"{args.tips} tips ({sum(1 for _, p in batch if p)} with a photo), {args.clients} concurrent clients, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{'endpoint':<22}{'acked':>7}{'stored':>8}{'p50 s':>8}{'p99 s':>8}{'tips/s':>9}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "hello.py").write_text(HELLO)
        port = free_port()
        hello = subprocess.Popen([sys.executable, "-m", "uvicorn", "hello:app", "--port", str(port), "--log-level",
                                  "warning", "--no-access-log"], cwd=tmp)  # fmt: skip
        try:
            wait_up(port)
            latencies, acked, wall = asyncio.run(fire(f"http://127.0.0.1:{port}/report", batch, args.clients))
        finally:
            hello.terminate()
            hello.wait(30)
    ceiling = acked / wall
    line("hello-world", latencies, acked, wall, "-", "1.00", "")
    with tempfile.TemporaryDirectory() as tmp:
        run_serve("serve, SQLite", f"sqlite:///{tmp}/intake.db", batch, args.clients, ceiling, base, None,
                  args.ack_only, not args.no_worker)
    if not args.sqlite_only:
        run_serve("serve, PostgreSQL", pg_schema(args.pg), batch, args.clients, ceiling, base, args.pg, args.ack_only,
                  not args.no_worker)
    httpd.shutdown()


if __name__ == "__main__":
    main()
