"""WACZ packages (Web Archive Collection Zipped, spec 1.1.1) of any set of captures.

A WACZ is what a reviewer opens in ReplayWeb.page and what ``wacz validate`` accepts: the original
WARC records (copied byte for byte out of the daily files, so their digests still prove them),
a CDXJ index to find each URL in them, ``pages/pages.jsonl`` with each capture's URL, time, title
and text, ``datapackage.json`` listing every file's SHA-256 and size, and ``datapackage-digest.json``
with the SHA-256 of that. WARC and index are stored uncompressed in the zip (the spec: a player
reads records by range). The package is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

import shekteu
from shekteu.db.tables import Capture, Item, ShopItem
from shekteu.dossier.warc_copy import capture_records

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
MAX_CAPTURES = 100_000


class WaczError(ValueError):
    """No captures match, or the output cannot be written; nothing was written."""


@dataclass(frozen=True)
class WaczSummary:
    path: Path
    captures: int
    records: int
    bytes: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "captures": self.captures, "records": self.records,
                "bytes": self.bytes, "sha256": self.sha256}  # fmt: skip


def select_captures(
    session: Session, *, shop: int | None = None, ids: list[int] | None = None, since: datetime | None = None
) -> list[Capture]:
    """Captures with WARC records: of one shop (through its items), by id, or since a time."""
    query = select(Capture).where(Capture.warc_file.is_not(None), Capture.warc_offset.is_not(None))
    if shop is not None:
        items = select(Item.capture_id).join(ShopItem, ShopItem.item_id == Item.id).where(ShopItem.shop_id == shop)
        query = query.where(Capture.id.in_(items))
    if ids:
        query = query.where(Capture.id.in_(ids))
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    return list(session.scalars(query.order_by(Capture.id).limit(MAX_CAPTURES)))


def surt(url: str) -> str:
    """Sort-friendly URI Reordering Transform, as CDX indexes key URLs (``com,example)/path?q``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        ipaddress.ip_address(host)
        key = host  # addresses are not reversed
    except ValueError:
        key = ",".join(reversed(host.split("."))) if host else ""
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    path = parts.path or "/"
    return f"{key}){path.lower()}" + (f"?{parts.query}" if parts.query else "")


def _cdxj_lines(warc: bytes) -> list[str]:
    lines = []
    records = ArchiveIterator(io.BytesIO(warc))
    for record in records:
        if record.rec_type not in ("response", "resource", "revisit"):
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        date = record.rec_headers.get_header("WARC-Date") or ""
        entry: dict[str, Any] = {"url": url, "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                                 "filename": WARC_NAME}  # fmt: skip
        if record.http_headers is not None and record.rec_type != "resource":
            entry["status"] = record.http_headers.get_statuscode()
            entry["mime"] = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip()
        else:
            entry["mime"] = record.rec_headers.get_header("Content-Type") or ""
        records.read_to_end(record)
        entry["offset"] = records.get_record_offset()
        entry["length"] = records.get_record_length()
        stamp = "".join(c for c in date if c.isdigit())[:14]
        lines.append(f"{surt(url)} {stamp} {json.dumps(entry, ensure_ascii=False, sort_keys=True)}")
    return sorted(lines)


def _pages(captures: list[Capture]) -> bytes:
    rows = [{"format": "json-pages-1.0", "id": "pages", "title": "Shekteu captures", "hasText": True}]
    for c in captures:
        rows.append({"id": f"capture-{c.id}", "url": c.url, "ts": c.fetched_at.astimezone(UTC).isoformat(),
                     "title": c.title or c.url, "text": (c.text or "")[:100_000]})  # fmt: skip
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def build(data_dir: Path, captures: list[Capture], out: Path, *, title: str) -> WaczSummary:
    if not captures:
        raise WaczError("no captures with WARC records match: nothing to package")
    out = out.expanduser()
    if out.exists():
        raise WaczError(f"{out} exists: choose a new path")
    parts = []
    for c in captures:
        parts.append(capture_records(data_dir / c.warc_file, int(c.warc_offset)))  # type: ignore[operator]
        if c.screenshot_warc_file and c.screenshot_warc_offset is not None:
            parts.append(capture_records(data_dir / c.screenshot_warc_file, int(c.screenshot_warc_offset)))
    warc = b"".join(parts)
    cdxj = ("\n".join(_cdxj_lines(warc)) + "\n").encode()
    files = {f"archive/{WARC_NAME}": warc, "indexes/index.cdxj": cdxj, "pages/pages.jsonl": _pages(captures)}
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": created,
        "modified": created,
        "software": f"shekteu {shekteu.__version__}",
        "mainPageUrl": captures[0].url,
        "mainPageDate": captures[0].fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [
            {"name": Path(name).name, "path": name, "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
             "bytes": len(data)}
            for name, data in files.items()
        ],
    }  # fmt: skip
    package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode()
    digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".wacz-", suffix=".wacz", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            for name, data in files.items():
                method = zipfile.ZIP_STORED if name.startswith(("archive/", "indexes/")) else zipfile.ZIP_DEFLATED
                zf.writestr(zipfile.ZipInfo(name, _zip_time()), data, compress_type=method)
            zf.writestr(zipfile.ZipInfo("datapackage.json", _zip_time()), package_bytes, zipfile.ZIP_DEFLATED)
            zf.writestr(zipfile.ZipInfo("datapackage-digest.json", _zip_time()),
                        json.dumps(digest, indent=2).encode(), zipfile.ZIP_DEFLATED)  # fmt: skip
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    records = sum(1 for _ in ArchiveIterator(io.BytesIO(warc)))
    return WaczSummary(out, len(captures), records, out.stat().st_size, sha)


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)
