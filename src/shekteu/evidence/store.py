"""The evidence store: content-addressed blobs and WARC files under the data directory.

Blobs live at ``blobs/ab/cd/<sha256>``, written to a temporary file and renamed into place, so a blob
is either whole or absent and writing the same content twice is a no-op. Captures are appended to a
daily gzipped WARC file (``warc/shekteu-YYYYMMDD.warc.gz``) as a response, request and metadata
record with SHA-256 block and payload digests; one capture's records are built in memory and
appended under an exclusive lock in one write, so concurrent captures never interleave and a crash
leaves at most a trailing capture the database does not point to.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from Crypto.Cipher import AES
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

import shekteu

# Headers that describe the transfer, not the payload we store (decoded, whole).
# Marks a requisite's response record with the id of the page's response record it was fetched for.
REQUISITE_HEADER = "Shekteu-Requisite-Of"
# Marks a redirect answered on the way to the page (its own response record, after the page's).
HOP_HEADER = "Shekteu-Redirect-Of"
TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class _SHA256WARCWriter(WARCWriter):
    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as it goes into the WARC: the decoded body and the headers seen."""

    url: str
    fetched_at: datetime
    request_headers: list[tuple[str, str]]
    status_line: str
    response_headers: list[tuple[str, str]]
    body: bytes
    ip: str | None
    truncated: bool
    metadata: dict[str, Any]


@dataclass(frozen=True)
class WarcLocation:
    file: str  # relative to the data directory
    offset: int  # of the response record


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobSealed(OSError):
    """A sealed blob asked for without its key, or with the wrong one."""


def _blob_key(key: bytes) -> bytes:
    return hashlib.sha256(b"blob-seal\0" + key).digest()


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.warcs = root / "warc"

    def blob_path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.blobs / digest[:2] / digest[2:4] / digest

    def put_blob(self, data: bytes) -> str:
        digest = sha256_hex(data)
        path = self.blob_path(digest)
        if not path.exists():
            self._write_atomic(path, data)
        return digest

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_blob(self, digest: str, key: bytes | None = None) -> bytes:
        """The blob's bytes; a sealed one (``put_sealed``) opens only with its key."""
        path = self.blob_path(digest)
        if path.exists() or not path.with_suffix(".sealed").exists():
            return path.read_bytes()
        if key is None:
            raise BlobSealed(f"blob {digest[:12]}… is sealed: it opens only with the contact key")
        raw = path.with_suffix(".sealed").read_bytes()
        cipher = AES.new(_blob_key(key), AES.MODE_GCM, nonce=raw[:12])
        cipher.update(digest.encode())
        try:
            data = cipher.decrypt_and_verify(raw[12:-16], raw[-16:])
        except ValueError:
            raise BlobSealed(f"blob {digest[:12]}… does not open under this key") from None
        if sha256_hex(data) != digest:
            raise BlobSealed(f"blob {digest[:12]}… opened to other content")
        return data

    def has_blob(self, digest: str) -> bool:
        path = self.blob_path(digest)
        return path.exists() or path.with_suffix(".sealed").exists()

    def put_sealed(self, data: bytes, key: bytes) -> str:
        """Store ``data`` encrypted (AES-256-GCM, bound to its SHA-256, which stays its name): for
        reporters' original photos, whose EXIF may hold where they stood and which phone they hold."""
        digest = sha256_hex(data)
        path = self.blob_path(digest).with_suffix(".sealed")
        if path.exists() or self.blob_path(digest).exists():
            return digest
        nonce = secrets.token_bytes(12)
        cipher = AES.new(_blob_key(key), AES.MODE_GCM, nonce=nonce)
        cipher.update(digest.encode())
        body, tag = cipher.encrypt_and_digest(data)
        self._write_atomic(path, nonce + body + tag)
        return digest

    def _append(self, when: datetime, write: Any) -> WarcLocation:
        """Append what ``write(writer)`` writes to the day's WARC file in one locked write; the
        location is of its first record (a new file starts with a warcinfo record). The records are
        built and compressed before the lock is taken: concurrent captures wait only for each
        other's write, not for each other's compression."""
        self.warcs.mkdir(parents=True, exist_ok=True)
        name = f"shekteu-{when:%Y%m%d}.warc.gz"
        path = self.warcs / name
        records = io.BytesIO()
        write(_SHA256WARCWriter(records, gzip=True, warc_version="1.1"))
        with open(path, "ab") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                start = fh.seek(0, os.SEEK_END)
                head = io.BytesIO()
                if start == 0:
                    writer = _SHA256WARCWriter(head, gzip=True, warc_version="1.1")
                    writer.write_record(writer.create_warcinfo_record(name, {
                        "software": f"shekteu/{shekteu.__version__}", "format": "WARC File Format 1.1",
                        "description": "Shekteu evidence capture"}))  # fmt: skip
                offset = start + head.tell()
                fh.write(head.getvalue() + records.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return WarcLocation(str(path.relative_to(self.root)), offset)

    def append_exchange(self, exchange: Exchange, requisites: list[Exchange] | None = None,
                        hops: list[Exchange] | None = None) -> WarcLocation:  # fmt: skip
        """Write request, response and metadata records for one fetch — and, right after them, a
        response record for each redirect on the way (``HOP_HEADER``) and a response and request
        record for each of its requisites (images, CSS; ``REQUISITE_HEADER``), marked with the page's
        record id so they travel with the page; returns where the page is."""

        def write(writer: WARCWriter) -> None:
            page_id = self._write_records(writer, exchange)
            for hop in hops or []:
                self._write_records(writer, hop, requisite_of=page_id, marker=HOP_HEADER)
            for requisite in requisites or []:
                self._write_records(writer, requisite, requisite_of=page_id)

        return self._append(exchange.fetched_at, write)

    def append_resource(self, url: str, when: datetime, content_type: str, data: bytes,
                        refers_to: str | None = None) -> WarcLocation:  # fmt: skip
        """One ``resource`` record (a screenshot: ``urn:screenshot:<url>``), appended on its own."""
        headers = {"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if refers_to:
            headers["WARC-Refers-To"] = refers_to

        def write(writer: WARCWriter) -> None:
            writer.write_record(writer.create_warc_record(
                url, "resource", payload=io.BytesIO(data), length=len(data), warc_content_type=content_type,
                warc_headers_dict=headers))  # fmt: skip

        return self._append(when, write)

    @staticmethod
    def _write_records(writer: WARCWriter, ex: Exchange, requisite_of: str | None = None,
                       marker: str = REQUISITE_HEADER) -> str:  # fmt: skip
        """The exchange's records; returns the response record's id."""
        date = ex.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        kept = [(k, v) for k, v in ex.response_headers if k.lower() not in TRANSFER_HEADERS]
        kept += [("X-Archive-Orig-" + k, v) for k, v in ex.response_headers if k.lower() in TRANSFER_HEADERS]
        kept.append(("Content-Length", str(len(ex.body))))
        warc_headers = {"WARC-Date": date}
        if ex.ip:
            warc_headers["WARC-IP-Address"] = ex.ip
        if ex.truncated:
            warc_headers["WARC-Truncated"] = "length"
        if requisite_of:
            warc_headers[marker] = requisite_of
        response = writer.create_warc_record(
            ex.url,
            "response",
            payload=io.BytesIO(ex.body),
            length=len(ex.body),
            http_headers=StatusAndHeaders(ex.status_line, kept, protocol="HTTP/1.1"),
            warc_headers_dict=warc_headers,
        )
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        writer.write_record(response)

        request_line = f"GET {_request_target(ex.url)} HTTP/1.1"
        request = writer.create_warc_record(
            ex.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(request_line, ex.request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        writer.write_record(request)
        if requisite_of:
            return response_id

        meta = json.dumps(ex.metadata, ensure_ascii=False, sort_keys=True, default=str).encode()
        record = writer.create_warc_record(
            ex.url,
            "metadata",
            payload=io.BytesIO(meta),
            length=len(meta),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        writer.write_record(record)
        return response_id


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
