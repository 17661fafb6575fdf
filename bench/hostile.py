"""Hostile-input benchmark: how many attacks were tried per entry point, and how many held.

    python bench/hostile.py [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB]

A case *holds* when the entry point answers with its own clear error (or takes the input cleanly),
the process stays alive, no traceback escapes, and the database is left whole. Runs on SQLite in a
temporary folder, and on PostgreSQL too when a URL is given (each run in a schema of its own). The
cases are the standing suite's (``tests/hostile``) plus SSRF spellings (``tests/test_addresses.py``).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import tempfile
import time
import traceback
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shekteu.settings import load_settings

Case = tuple[str, Callable[[], object]]


def _held(run: Callable[[], object], clear: tuple[type[BaseException], ...]) -> tuple[bool, str]:
    try:
        run()
    except clear:
        return True, ""
    except Exception:
        return False, traceback.format_exc(limit=3).strip().splitlines()[-1]
    return True, ""


def ssrf_cases() -> Iterator[tuple[str, bool]]:
    from tests.test_addresses import REFUSED_HOSTS

    from shekteu.capture.addresses import check_url

    for host in REFUSED_HOSTS:
        for url in (f"http://{host}/", f"https://{host}:8443/x"):
            yield url, check_url(url) is not None
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.com/", "http://[::1"):
        yield url, check_url(url) is not None


def image_cases() -> list[tuple[str, bytes]]:
    from PIL import Image

    def save(size: tuple[int, int], fmt: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, (128, 128, 128)).save(buf, fmt)
        return buf.getvalue()

    png = save((64, 64), "PNG")
    huge = bytearray(png)
    huge[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")  # claims 3.6 Gpx
    return [
        ("flat 800x600 JPEG", save((800, 600), "JPEG")), ("1 px WebP", save((1, 1), "WEBP")),
        ("1 px PNG", save((1, 1), "PNG")), ("40x1 PNG", save((40, 1), "PNG")),
        ("EPS (Ghostscript)", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        ("PPM", b"P6\n1 1\n255\n\x00\x00\x00"), ("truncated JPEG", save((200, 200), "JPEG")[:300]),
        ("pixel bomb header", bytes(huge)), ("empty", b""), ("text", b"hello world"),
        ("gzip of zeros", gzip.compress(b"\x00" * 1_000_000)), ("GIF header only", b"GIF89a"),
    ]  # fmt: skip


def export_cases() -> list[tuple[str, str]]:
    from tests.hostile.test_files import DEEP
    from tests.test_telegram_export import export, message

    def ex(messages: list) -> str:
        return json.dumps(export(messages))

    return [
        ("200,000 nested [", DEEP), ("unixtime 10^20", ex([message(1, date_unixtime="99999999999999999999")])),
        ("id 2^63", ex([message(2**63)])), ("id -1", ex([message(-1)])), ("id 'x'", ex([message(1) | {"id": "x"}])),
        ("NUL text", ex([message(1, text="a\u0000b")])), ("NUL photo path", ex([message(1, photo="p/\u0000.jpg")])),
        ("lone surrogate", ex([message(1, text="\ud800")])), ("surrogate path", ex([message(1, photo="\udfff.jpg")])),
        ("path escape", ex([message(1, photo="../../../../etc/passwd")])), ("list", "[1,2]"), ("number", "7"),
        ("not JSON", "{"), ("invalid UTF-8", "\udcff"), ("messages not a list", json.dumps({"messages": 5})),
        ("message a string", ex(["hi"])), ("text a number", ex([message(1, text=5)])),
        ("entity without text", ex([message(1, text=[{"type": "text_link"}])])),
        ("chats.list junk", json.dumps({"chats": {"list": [1, "x", None]}})),
    ]  # fmt: skip


def run_backend(url: str | None, tmp: Path) -> dict[str, tuple[int, int, list[str]]]:
    from tests.hostile.test_files import ZONE_CASES
    from tests.hostile.test_text_and_queues import HOSTILE_TEXTS

    from shekteu.capture.telegram_export import ExportError, import_export
    from shekteu.detect.model import Detector
    from shekteu.geo.geojson import BoundaryError
    from shekteu.images import ImageError, open_image
    from shekteu.runtime import Runtime
    from shekteu.street.photo import analyse_bytes
    from shekteu.street.zones import import_zones
    from shekteu.tips.intake import TipError, TipInput, submit
    from shekteu.tips.process import process_pending

    env = {"SHEKTEU_DATA_DIR": str(tmp / "data"), "SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32"}
    if url:
        env["SHEKTEU_DATABASE_URL"] = url
    rt = Runtime(load_settings(env))
    results: dict[str, tuple[int, int, list[str]]] = {}

    def tally(name: str, cases: list[Case], clear: tuple[type[BaseException], ...]) -> None:
        held, problems = 0, []
        for label, run in cases:
            ok, why = _held(run, clear)
            held += ok
            if not ok:
                problems.append(f"{label}: {why}")
        results[name] = (len(cases), held, problems)

    detector = Detector.load()
    texts = [*HOSTILE_TEXTS, "x" * 1_000_000, "\u202e" * 1000, "м е ф" * 5000, "🍄" * 10_000]
    tally("classify", [(repr(t[:12]), lambda t=t: detector.classify([t, "Меф в наличии"])) for t in texts], ())
    def tip(text: str) -> object:
        return submit(rt, TipInput(channel="web", user_id=f"u{uuid.uuid4()}", text=text, contact=text or None))

    tips = [(repr(t[:12]), lambda t=t: tip(t)) for t in [*texts, "@x\x00_bot", "https://\x00evil/"]]
    tips += [(f"photo: {label}", lambda d=data: submit(rt, TipInput(channel="web", user_id=f"p{uuid.uuid4()}",
                                                                   kind="graffiti", photos=[d], lat=43.2, lon=76.9)))
             for label, data in image_cases()]  # fmt: skip
    tally("tip intake", tips, (TipError,))
    tally("tip processing", [("all tips", lambda: process_pending(rt, capture=False))], ())
    tally("images", [(label, lambda d=data: _image(d, open_image, analyse_bytes)) for label, data in image_cases()],
          (ImageError,))  # fmt: skip
    files = []
    for n, (label, body) in enumerate(export_cases()):
        path = tmp / f"export{n}.json"
        path.write_bytes(body.encode("utf-8", "surrogateescape"))
        files.append((label, lambda p=path: import_export(rt, p, channel="hostile_bench")))
    tally("telegram export", files, (ExportError,))
    zones = []
    for n, (name, (data, _expected)) in enumerate(ZONE_CASES.items()):
        path = tmp / f"zone{n}.geojson"
        path.write_text(data if isinstance(data, str) else json.dumps(data, allow_nan=True))

        def load(p: Path = path) -> None:
            with rt.db.write() as s:
                import_zones(s, p, kind="osi", name_property="name", actor="cli:bench")

        zones.append((name, load))
    tally("zone files", zones, (BoundaryError,))
    from shekteu.audit import verify_chain

    with rt.db.read() as s:
        results["audit chain intact"] = (1, int(verify_chain(s) == []), [])
    rt.close()
    return results


def _image(data: bytes, open_image: Callable, analyse_bytes: Callable) -> None:
    result = analyse_bytes("x", data, run_ocr=False)  # never raises: an error field at worst
    assert result.file == "x"
    open_image(data)


def fetch_cases() -> tuple[int, int, list[str]]:
    from tests.servers import LocalServer, Reply

    from shekteu.capture.fetch import Fetcher

    web = LocalServer("127.0.0.1")
    zeros = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    bomb = b"".join(zeros.compress(b"\x00" * (1 << 20)) for _ in range(1024)) + zeros.flush()
    import brotli
    import zstandard

    routes = {
        "/gzip2": Reply(200, gzip.compress(bomb), {"Content-Encoding": "gzip, gzip"}),
        "/gzip3": Reply(200, gzip.compress(gzip.compress(bomb)), {"Content-Encoding": "gzip, gzip, gzip"}),
        "/br": Reply(200, brotli.compress(b"\x00" * (256 << 20), quality=5), {"Content-Encoding": "br"}),
        "/zstd": Reply(200, zstandard.compress(b"\x00" * (256 << 20), 19), {"Content-Encoding": "zstd"}),
        "/junk": Reply(200, b"not gzip", {"Content-Encoding": "gzip"}),
        "/unknown": Reply(200, b"x", {"Content-Encoding": "compress"}),
        "/slow": Reply(200, (b"x" for _ in range(100)), delay=0.2),
    }  # fmt: skip
    for path, reply in routes.items():
        web.route(path, reply)
    settings = load_settings({"SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "SHEKTEU_FETCH_TIMEOUT": "3",
                              "SHEKTEU_FETCH_MAX_BYTES": "1000000"})  # fmt: skip
    held, problems = 0, []
    with Fetcher(settings) as f:
        for path in routes:
            started = time.monotonic()
            r = f.fetch(web.url(path))
            ok = len(r.body) <= 1_000_000 and time.monotonic() - started < 10 and (r.error or r.truncated)
            held += bool(ok)
            if not ok:
                problems.append(f"{path}: {r.error} ({len(r.body)} bytes)")
    web.close()
    return len(routes), held, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL to run the database cases on as well")
    args = parser.parse_args()
    ssrf = list(ssrf_cases())
    rows = {"ssrf": (len(ssrf), sum(ok for _, ok in ssrf), [u for u, ok in ssrf if not ok])}
    rows["fetch"] = fetch_cases()
    backends: dict[str, str | None] = {"sqlite": None}
    if args.postgres:
        backends["postgresql"] = args.postgres
    for name, url in backends.items():
        with tempfile.TemporaryDirectory() as tmp:
            if url:
                url = _schema(url)
            for key, value in run_backend(url, Path(tmp)).items():
                rows[f"{key} [{name}]"] = value
    width = max(map(len, rows))
    print(f"{'entry point':<{width}}  tried  held")
    for name, (tried, held, problems) in rows.items():
        print(f"{name:<{width}}  {tried:>5}  {held:>4}{'' if held == tried else '  ✗'}")
        for problem in problems[:5]:
            print(f"{'':<{width}}    {problem}")
    total, held = sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())
    print(f"{'all':<{width}}  {total:>5}  {held:>4}")


def _schema(url: str) -> str:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


if __name__ == "__main__":
    main()
