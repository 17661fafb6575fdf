"""Trusted timestamps (RFC 3161): proof from a third party that the evidence existed at a time.

One stamping writes a **statement** — a short text listing the SHA-256 of every WARC file that grew,
of each new capture's records (the gzip members a dossier copies, byte for byte) and the audit-chain
head — and asks the time-stamping authority in ``SHEKTEU_TSA_URL`` for a token over the statement's
SHA-256. A capture's records never change after they are written, and WARC files are only appended
to, so a token over a statement stays valid for ever. Statement and token are stored in the database
and as files under DATA_DIR/timestamps (``stamp-<sha>.txt`` and ``.tsr``), which any reviewer checks
with ``openssl ts -verify -data stamp-….txt -in stamp-….tsr -CAfile tsa-ca.pem``.

The network call happens outside any transaction; the result is committed in one short one. Two
stampings at once cannot both list a capture (it is the key of ``stamped_captures``): the later one
finds that out at commit and is dropped, and the next run lists whatever is still new.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.audit_check import Anchor
from shekteu.db.evidence_tables import EvidenceStamp, StampedCapture
from shekteu.db.tables import AuditEntry, Capture
from shekteu.dossier.warc_copy import capture_records
from shekteu.evidence import tokens
from shekteu.runtime import Runtime
from shekteu.settings import Settings

HEADER = "shekteu evidence statement 1"
MAX_REPLY = 256 * 1024  # a token with its certificate chain is a few KB
_LINE = re.compile(r"^(audit-head|warc-file|capture|screenshot) (.+)$")


class TimestampError(RuntimeError):
    """The authority could not be reached, refused, or answered something that is not a valid token."""


@dataclass(frozen=True)
class Statement:
    text: str
    captures: dict[int, str]  # capture id -> SHA-256 of its raw records
    screenshots: dict[int, str]  # capture id -> SHA-256 of its screenshot's raw record
    audit_id: int | None
    audit_hash: str | None

    @property
    def data(self) -> bytes:
        return self.text.encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class StampResult:
    id: int
    sha256: str
    gen_time: datetime
    captures: int
    warc_files: int
    audit_id: int | None
    files: tuple[Path, Path]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "sha256": self.sha256, "gen_time": self.gen_time.isoformat(),
                "captures": self.captures, "warc_files": self.warc_files, "audit_id": self.audit_id,
                "statement": str(self.files[0]), "token": str(self.files[1])}  # fmt: skip


def stamps_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "timestamps"


def parse_statement(text: str) -> dict[str, Any]:
    """The statement's claims: ``audit`` (id, hash) or None, ``warc`` {name: (size, sha)}, ``captures``
    {id: sha}. Unknown lines are an error: a statement is machine text."""
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise ValueError("not a Shekteu evidence statement (first line)")
    out: dict[str, Any] = {"audit": None, "warc": {}, "captures": {}, "screenshots": {}, "made": None}
    for n, line in enumerate(lines[1:], start=2):
        if line.startswith("made "):
            out["made"] = line[5:]
            continue
        m = _LINE.match(line)
        parts = m.group(2).split(" ") if m else []
        if m and m.group(1) == "audit-head" and len(parts) == 2:
            out["audit"] = (int(parts[0]), parts[1])
        elif m and m.group(1) == "warc-file" and len(parts) == 3:
            out["warc"][parts[0]] = (int(parts[1]), parts[2])
        elif m and m.group(1) in ("capture", "screenshot") and len(parts) == 2:
            out[m.group(1) + "s"][int(parts[0])] = parts[1]
        else:
            raise ValueError(f"statement line {n} is not understood: {line[:80]!r}")
    return out


def _file_sha(path: Path, size: int) -> str:
    digest, left = hashlib.sha256(), size
    with open(path, "rb") as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def build_statement(rt: Runtime, session: Session, *, now: datetime | None = None) -> Statement | None:
    """What is new since the last stamping: None when there is nothing to stamp."""
    stamped = set(session.scalars(select(StampedCapture.capture_id)))
    rows = session.execute(
        select(Capture.id, Capture.warc_file, Capture.warc_offset)
        .where(Capture.warc_file.is_not(None), Capture.warc_offset.is_not(None))
        .order_by(Capture.id)
    ).all()
    captures: dict[int, str] = {}
    for cid, warc_file, offset in rows:
        if cid in stamped:
            continue
        path = rt.settings.data_dir / warc_file
        if path.exists():
            captures[cid] = hashlib.sha256(capture_records(path, int(offset))).hexdigest()
    shot_done = set(session.scalars(select(StampedCapture.capture_id).where(StampedCapture.screenshot_sha256.is_not(None))))
    screenshots: dict[int, str] = {}
    for cid, warc_file, offset in session.execute(
        select(Capture.id, Capture.screenshot_warc_file, Capture.screenshot_warc_offset)
        .where(Capture.screenshot_warc_file.is_not(None)).order_by(Capture.id)
    ):  # fmt: skip
        path = rt.settings.data_dir / warc_file
        if cid not in shot_done and path.exists():
            screenshots[cid] = hashlib.sha256(capture_records(path, int(offset))).hexdigest()
    known: dict[str, int] = {}
    for (text,) in session.execute(select(EvidenceStamp.statement)):
        for name, (size, _sha) in parse_statement(text)["warc"].items():
            known[name] = max(known.get(name, 0), size)
    warcs: dict[str, tuple[int, str]] = {}
    for path in sorted(rt.store.warcs.glob("*.warc.gz")):
        name, size = str(path.relative_to(rt.settings.data_dir)), path.stat().st_size
        if size and size != known.get(name):
            warcs[name] = (size, _file_sha(path, size))
    head = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    last = session.scalar(select(EvidenceStamp.audit_id).order_by(EvidenceStamp.id.desc()).limit(1)) or 0
    # A stamping is itself audited: entries that only record stampings are not news worth a token.
    head_new = session.scalar(select(AuditEntry.id).where(AuditEntry.id > last, AuditEntry.action != "evidence.timestamp")
                              .limit(1)) is not None  # fmt: skip
    if not captures and not screenshots and not warcs and not head_new:
        return None
    made = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    lines = [HEADER, f"made {made}"]
    if head is not None:
        lines.append(f"audit-head {head[0]} {head[1]}")
    lines += [f"warc-file {name} {size} {sha}" for name, (size, sha) in warcs.items()]
    lines += [f"capture {cid} {sha}" for cid, sha in captures.items()]
    lines += [f"screenshot {cid} {sha}" for cid, sha in screenshots.items()]
    return Statement("\n".join(lines) + "\n", captures, screenshots, head[0] if head else None,
                     head[1] if head else None)


def request_token(settings: Settings, data: bytes) -> bytes:
    """Ask the authority for a token over SHA-256 of ``data``; the reply is checked against the request
    (imprint and nonce), so a token for something else is never stored."""
    if not settings.tsa_url:
        raise TimestampError("no time-stamping authority: set SHEKTEU_TSA_URL (e.g. https://freetsa.org/tsr)")
    body_out, nonce = tokens.query(data)
    headers = {"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"}
    try:
        with httpx.Client(timeout=settings.tsa_timeout, follow_redirects=False) as client, client.stream(
            "POST", settings.tsa_url, content=body_out, headers=headers
        ) as reply:
            body = bytearray()
            for chunk in reply.iter_bytes():
                body += chunk
                if len(body) > MAX_REPLY:
                    raise TimestampError(f"{settings.tsa_url} answered more than {MAX_REPLY} bytes")
            if reply.status_code != 200:
                raise TimestampError(f"{settings.tsa_url} answered HTTP {reply.status_code}")
    except httpx.HTTPError as exc:
        raise TimestampError(f"cannot reach the time-stamping authority {settings.tsa_url}: {exc}") from None
    try:
        info = tokens.read(bytes(body))
    except tokens.TokenError as exc:
        raise TimestampError(f"{settings.tsa_url}: {exc}") from None
    if info.digest != hashlib.sha256(data).digest() or info.nonce != nonce:
        raise TimestampError(f"{settings.tsa_url} answered a token for another request")
    return bytes(body)


def token_info(token: bytes) -> dict[str, Any]:
    info = tokens.read(token)
    return {"gen_time": info.gen_time, "serial": info.serial, "digest": info.digest.hex()}


def stamp(rt: Runtime, *, actor: str | None = None, now: datetime | None = None) -> StampResult | None:
    """Stamp what is new; None when nothing is. Raises TimestampError when the authority fails
    (nothing is stored then, and the next run stamps the same)."""
    with rt.db.read() as session:
        statement = build_statement(rt, session, now=now)
    if statement is None:
        write_files(rt)
        return None
    token = request_token(rt.settings, statement.data)
    info = token_info(token)
    try:
        with rt.db.write() as session:
            row = EvidenceStamp(
                sha256=statement.sha256, statement=statement.text, token=token, tsa_url=str(rt.settings.tsa_url),
                gen_time=info["gen_time"], serial=info["serial"], audit_id=statement.audit_id,
                audit_hash=statement.audit_hash, created_by=actor or audit.current_actor(),
            )  # fmt: skip
            session.add(row)
            session.flush()
            session.add_all(StampedCapture(capture_id=cid, stamp_id=row.id, sha256=sha,
                                           screenshot_sha256=statement.screenshots.get(cid))
                            for cid, sha in statement.captures.items())  # fmt: skip
            session.flush()
            for cid, sha in statement.screenshots.items():
                if cid in statement.captures:
                    continue
                moved = session.execute(update(StampedCapture).where(StampedCapture.capture_id == cid,
                                        StampedCapture.screenshot_sha256.is_(None)).values(screenshot_sha256=sha))  # fmt: skip
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise IntegrityError("screenshot already stamped", None, Exception("concurrent stamping"))
            audit.record(session, "evidence.timestamp", f"stamp:{row.id}", actor=actor,
                         reason="trusted timestamp of new evidence and the audit head",
                         detail={"sha256": statement.sha256, "captures": len(statement.captures),
                                 "screenshots": len(statement.screenshots),
                                 "audit_id": statement.audit_id, "tsa": rt.settings.tsa_url,
                                 "gen_time": info["gen_time"].isoformat()})  # fmt: skip
            stamp_id = row.id
    except IntegrityError:
        return None  # a concurrent stamping listed the same captures first; the next run takes the rest
    files = write_files(rt)[statement.sha256]
    warc_files = len(parse_statement(statement.text)["warc"])
    return StampResult(stamp_id, statement.sha256, info["gen_time"], len(statement.captures), warc_files,
                       statement.audit_id, files)  # fmt: skip


def timestamp_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The worker's periodic stamping; a failing authority fails the job, which is retried with back-off."""
    result = stamp(rt, actor="worker:timestamp")
    return result.as_json() if result else {"id": None}


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write_files(rt: Runtime) -> dict[str, tuple[Path, Path]]:
    """Every stored statement and token as files (idempotent: existing files are left as they are)."""
    folder = stamps_dir(rt.settings)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, Path]] = {}
    with rt.db.read() as session:
        for sha, text, token in session.execute(select(EvidenceStamp.sha256, EvidenceStamp.statement,
                                                       EvidenceStamp.token)):  # fmt: skip
            txt, tsr = folder / f"stamp-{sha[:16]}.txt", folder / f"stamp-{sha[:16]}.tsr"
            if not txt.exists():
                _write_atomic(txt, text.encode())
            if not tsr.exists():
                _write_atomic(tsr, token)
            out[sha] = (txt, tsr)
    return out


def file_anchors(folder: Path) -> list[Anchor]:
    """Audit heads claimed by the statement files on disk (they outlive the database's rows)."""
    found = []
    for txt in sorted(folder.glob("stamp-*.txt")):
        try:
            head = parse_statement(txt.read_text())["audit"]
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if head and txt.with_suffix(".tsr").exists():
            found.append(Anchor(head[0], head[1], f"the timestamped statement {txt.name}"))
    return found


def db_anchors(session: Session) -> list[Anchor]:
    rows = session.execute(select(EvidenceStamp.id, EvidenceStamp.audit_id, EvidenceStamp.audit_hash,
                                  EvidenceStamp.gen_time).where(EvidenceStamp.audit_id.is_not(None)))  # fmt: skip
    return [Anchor(aid, ahash, f"timestamp {sid} of {gen:%Y-%m-%d %H:%M} UTC") for sid, aid, ahash, gen in rows]


def load_certificates(path: Path) -> list[Any]:
    """Certificates of a PEM file (a TSA's root and intermediates)."""
    try:
        return tokens.load_roots(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise TimestampError(f"cannot read TSA certificates from {path}: {exc}") from None


def verify_token(token: bytes, data: bytes, roots: list[Any]) -> str | None:
    """None when ``token`` is a valid timestamp of ``data`` signed under one of ``roots``; else why not."""
    try:
        tokens.verify(token, data, roots)
    except tokens.TokenError as exc:
        return str(exc)
    return None


def check_stamp_files(rt: Runtime, notes: list[str]) -> list[str]:
    """Problems with the stored tokens: a statement file changed, a token that does not verify, a stamp
    row whose files are gone or differ. Without a trust file only the statements' hashes are checked."""
    roots = load_certificates(rt.settings.tsa_ca_file) if rt.settings.tsa_ca_file else []
    folder = stamps_dir(rt.settings)
    problems: list[str] = []
    with rt.db.read() as session:
        rows = session.execute(select(EvidenceStamp.id, EvidenceStamp.sha256, EvidenceStamp.statement,
                                      EvidenceStamp.token)).all()  # fmt: skip
    on_disk = {p.stem: p for p in folder.glob("stamp-*.txt")}
    for sid, sha, text, token in rows:
        if hashlib.sha256(text.encode()).hexdigest() != sha:
            problems.append(f"timestamp {sid}: its statement in the database was edited")
        txt = folder / f"stamp-{sha[:16]}.txt"
        if not txt.exists():
            problems.append(f"timestamp {sid}: {txt.name} is missing from {folder}")
        elif txt.read_bytes() != text.encode():
            problems.append(f"timestamp {sid}: {txt.name} differs from the database's statement")
        on_disk.pop(txt.stem, None)
        if roots and (why := verify_token(token, text.encode(), roots)):
            problems.append(f"timestamp {sid}: {why}")
    for txt in sorted(on_disk.values()):
        tsr = txt.with_suffix(".tsr")
        if tsr.exists():
            problems.append(f"{txt.name} is timestamped but the database has no record of it (rows deleted)")
            if roots and (why := verify_token(tsr.read_bytes(), txt.read_bytes(), roots)):
                problems.append(f"{txt.name}: {why}")
    if rows and not roots:
        notes.append("SHEKTEU_TSA_CA_FILE is not set: the tokens' signatures were not checked")
    return problems
