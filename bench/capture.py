"""Capture throughput: 500 local pages of ~42 KB, fetched, stored (blob + WARC + SQLite), extracted and
analysed (classified, indicators, MinHash, linked into shops).

Prints pages/s end to end (wall clock) and per core (wall rate / cores, since extraction and analysis
run in worker processes too), twice: the first run starts the worker processes, the second finds them
up (as a long-running worker does). Also extraction alone on one core, and trafilatura beside
resiliparse. Run: python bench/capture.py [--pages N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from local_pages import serve_pages
from shekteu.capture.web import capture_urls
from shekteu.db.tables import Verdict
from shekteu.runtime import Runtime
from shekteu.settings import load_settings
from shekteu.text.html import extract
from shekteu.text.language import detect_language

WORDS = (
    "клады наличии город оператор оплата карта координаты фото курьер работа доставка качество магазин "
    "полиция задержали суд новости профилактика школа спорт погода рынок цена товар заказ отзыв"
).split()


def make_page(i: int, rng: random.Random) -> bytes:
    script = "<script>" + f"var a{i}={i};" * 400 + "</script>"
    colour = rng.randrange(1 << 24)
    style = "<style>" + f".c{{color:#{colour:06x};margin:1px}}" * 250 + "</style>"
    nav = "<nav>" + "".join(f'<a href="/section/{k}">Раздел {k}</a> ' for k in range(40)) + "</nav>"
    paras = "".join(
        "<p>"
        + " ".join(rng.choice(WORDS) for _ in range(60))
        + f' <a href="https://t.me/shop{i}_{k}">@shop{i}_{k}</a></p>'
        for k in range(30)
    )
    footer = (
        "<footer>"
        + "".join(f'<a href="https://partner{k}.example/">partner {k}</a> ' for k in range(60))
        + "</footer>"
    )
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Страница {i}</title>{script}{style}</head>"
    )
    return (
        html
        + f"<body>{nav}<main><article><h1>Заголовок {i}</h1>{paras}</article></main>{footer}</body></html>"
    ).encode()


def serve(pages: list[bytes]) -> ThreadingHTTPServer:
    return serve_pages(lambda path: pages[int(path.strip("/").split("?")[0]) % len(pages)])[0]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def compare_extractors(pages: list[bytes]) -> None:
    """trafilatura (today's main-text path) beside resiliparse (if installed), on the same pages:
    ms/page each and the word overlap (Jaccard) of what they keep — the figure a switch needs."""
    import trafilatura

    start = time.perf_counter()
    kept = [trafilatura.extract(p.decode(), include_comments=False) or "" for p in pages]
    slow = (time.perf_counter() - start) / len(pages)
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree
    except ImportError:
        print(f"trafilatura alone: {slow * 1000:.1f} ms/page (pip install resiliparse to compare)")
        return
    start = time.perf_counter()
    fast = [extract_plain_text(HTMLTree.parse(p.decode()), main_content=True) for p in pages]
    quick = (time.perf_counter() - start) / len(pages)
    overlap = sum(len(set(a.split()) & set(b.split())) / max(1, len(set(a.split()) | set(b.split())))
                  for a, b in zip(kept, fast, strict=True)) / len(pages)  # fmt: skip
    print(f"main text: trafilatura {slow * 1000:.1f} ms/page, resiliparse {quick * 1000:.2f} ms/page "
          f"({slow / quick:.0f}x faster), word overlap {overlap:.3f} on these generated pages")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)
    pages = [make_page(i, rng) for i in range(args.pages)]
    print(f"pages: {len(pages)}, mean size {sum(map(len, pages)) / len(pages) / 1024:.1f} KB")

    # Extraction alone, one core.
    extract(pages[0], "text/html", "http://x/")  # warm-up: imports, language models
    detect_language("прогрев")
    start = time.perf_counter()
    for i, body in enumerate(pages[:100]):
        page = extract(body, "text/html; charset=utf-8", f"http://127.0.0.1/{i}")
        detect_language(page.text)
    per_page = (time.perf_counter() - start) / 100
    print(
        f"extraction + language only: {per_page * 1000:.1f} ms/page = {1 / per_page:.0f} pages/s on one core"
    )

    compare_extractors(pages[:100])

    port = serve_elsewhere(pages)
    base = f"http://127.0.0.1:{port}"
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings({"SHEKTEU_DATA_DIR": tmp, "SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
                                    "SHEKTEU_SCREENSHOTS": "false"}))  # fmt: skip
        print("end to end: fetch, blob, WARC, SQLite, extraction, language, then analysis (classify,")
        print("indicators, MinHash, shop linking) of every page; the local server runs on the same cores")
        for run in ("first run (worker processes start)", "second run (processes already up)"):
            urls = [f"{base}/{i}?{run[:5]}" for i in range(len(pages))]
            recorded: list[float] = []
            cpu0, t0 = cpu(), time.perf_counter()
            outcomes = capture_urls(rt, urls, on_done=lambda _o, seen=recorded: seen.append(time.perf_counter()))
            wall, used = time.perf_counter() - t0, cpu() - cpu0
            failed = sum(o.error is not None for o in outcomes)
            print(f"{run}: {len(urls)} pages in {wall:.2f} s = {len(urls) / wall:.0f} pages/s wall clock, "
                  f"{len(urls) / wall / cores:.0f} per core ({cores} cores; {failed} failed)")  # fmt: skip
            print(f"  captured in {recorded[-1] - t0:.2f} s, analysed in {t0 + wall - recorded[-1]:.2f} s more; "
                  f"main process {used / len(urls) * 1000:.1f} ms CPU per page")  # fmt: skip
        with rt.db.read() as session:
            verdicts = session.scalar(select(func.count()).select_from(Verdict))
        warc_mb = sum(p.stat().st_size for p in (Path(tmp) / "warc").glob("*.warc.gz")) / 1e6
        print(f"  {verdicts} verdicts stored, WARC {warc_mb:.1f} MB")
        rt.close()


def serve_elsewhere(pages: list[bytes]) -> int:
    """The local site in a process of its own (a remote server would not share our GIL); its port."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # before any thread of ours starts
    ready = ctx.Queue()

    def run() -> None:
        ready.put(serve(pages).server_address[1])
        time.sleep(1e9)

    ctx.Process(target=run, daemon=True).start()
    return int(ready.get(timeout=30))

if __name__ == "__main__":
    main()
