"""Build a shop's dossier: evidence files, chain of custody, PDF summary and a SHA-256 manifest.

Layout (a folder, or the same inside a zip when the path ends in ``.zip``)::

    captures/capture-<id>.warc.gz   the original WARC records of every capture, byte for byte
    blobs/<sha256>                  stored photos and files the shop's items refer to
    shop.json, items.jsonl          the shop, its identifiers, every item with verdicts and mentions
    takedowns.json                  each takedown with every transition (who, when, why, evidence)
    custody.jsonl                   the audit-log entries about this shop, its items and takedowns,
                                    with their chain hashes
    evidence.wacz                   the same captures as a WACZ package (opens in ReplayWeb.page)
    timestamps/stamp-<sha>.txt|.tsr the RFC 3161 statements listing these captures' records and the
                                    audit head, with their tokens; tsa-ca.pem, the authority's root
    summary.pdf                     the summary in Russian
    manifest.json                   SHA-256 and size of every file above, and whether the audit
                                    chain verified when the dossier was made

The dossier is written to a temporary name and renamed into place, so a crash leaves no half
dossier under the requested name. Its creation is itself audited, with the manifest's hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import AuditEntry, Capture, Indicator, Item, ItemIndicator, ShopItem, Verdict, utcnow
from shekteu.dossier.pdf import STATES, render
from shekteu.dossier.warc_copy import capture_records
from shekteu.runtime import Runtime, contact_key
from shekteu.shops.query import show_shop
from shekteu.takedown.lifecycle import history_json, list_takedowns

_RANGE = re.compile(r"items:(\d+)-(\d+)")
_SHA = re.compile(r"[0-9a-f]{64}")


class DossierError(ValueError):
    """The dossier cannot be made (unknown shop, output exists); nothing was written."""


@dataclass
class DossierSummary:
    path: Path
    files: int
    bytes: int
    captures: int
    manifest_sha256: str
    chain_intact: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "files": self.files,
            "bytes": self.bytes,
            "captures": self.captures,
            "manifest_sha256": self.manifest_sha256,
            "chain_intact": self.chain_intact,
        }


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n").encode()


def _items(session: Session, shop_id: int) -> list[dict[str, Any]]:
    items = list(
        session.scalars(
            select(Item)
            .join(ShopItem, ShopItem.item_id == Item.id)
            .where(ShopItem.shop_id == shop_id)
            .order_by(Item.id)
        )
    )
    ids = [i.id for i in items]
    verdicts: dict[int, list[dict[str, Any]]] = {}
    for v in session.scalars(select(Verdict).where(Verdict.item_id.in_(ids)).order_by(Verdict.id)):
        verdicts.setdefault(v.item_id, []).append(
            {
                "label": v.label,
                "score": v.score,
                "model": v.model_version,
                "text_sha256": v.text_sha256,
                "terms": v.terms,
                "at": v.created_at.isoformat(),
            }
        )
    mentions: dict[int, list[dict[str, Any]]] = {}
    for item_id, kind, normalized, value, start, end in session.execute(
        select(
            ItemIndicator.item_id,
            Indicator.type,
            Indicator.normalized,
            ItemIndicator.value,
            ItemIndicator.start,
            ItemIndicator.end,
        )
        .join(Indicator, Indicator.id == ItemIndicator.indicator_id)
        .where(ItemIndicator.item_id.in_(ids))
        .order_by(ItemIndicator.item_id, ItemIndicator.start)
    ):
        mentions.setdefault(item_id, []).append(
            {"type": kind, "normalized": normalized, "value": value, "start": start, "end": end}
        )
    return [
        {
            "id": i.id,
            "kind": i.kind,
            "url": i.url,
            "channel": i.channel,
            "post_id": i.post_id,
            "published_at": i.published_at,
            "first_seen_at": i.first_seen_at,
            "source": i.source,
            "capture_id": i.capture_id,
            "title": i.title,
            "text": i.text,
            "text_sha256": i.text_sha256,
            "media": i.media,
            "verdicts": verdicts.get(i.id, []),
            "indicators": mentions.get(i.id, []),
        }
        for i in items
    ]


def _custody(
    session: Session, shop: dict[str, Any], item_ids: set[int], takedown_ids: list[int], capture_ids: set[int]
) -> list[dict[str, Any]]:
    targets = {f"shop:{s}" for s in [shop["id"], *shop["merged_from"]]}
    targets |= {f"takedown:{t}" for t in takedown_ids} | {f"capture:{c}" for c in capture_ids}
    low, high = (min(item_ids), max(item_ids)) if item_ids else (0, -1)
    rows = []
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        m = _RANGE.fullmatch(entry.target)
        relevant = entry.target in targets or (
            m is not None
            and int(m.group(1)) <= high
            and int(m.group(2)) >= low
            and any(int(m.group(1)) <= i <= int(m.group(2)) for i in item_ids)
        )  # analysis batches name the range of items they covered
        if relevant:
            rows.append(
                {
                    "id": entry.id,
                    "at": entry.at.isoformat(),
                    "actor": entry.actor,
                    "action": entry.action,
                    "target": entry.target,
                    "reason": entry.reason,
                    "detail": entry.detail,
                    "prev_hash": entry.prev_hash,
                    "hash": entry.hash,
                }
            )
    return rows


def shop_capture_ids(session: Session, shop_id: int) -> set[int]:
    """The captures a shop's dossier carries: its items' and its takedowns' evidence."""
    items = select(Item.capture_id).join(ShopItem, ShopItem.item_id == Item.id).where(ShopItem.shop_id == shop_id)
    found = {c for c in session.scalars(items) if c}
    for t in list_takedowns(session, limit=100_000):
        if t.shop_id == shop_id:
            found |= {c for e in history_json(session, t)["events"] for c in e["captures"]}
    return found


def collect(
    rt: Runtime, session: Session, shop_id: int
) -> tuple[dict[str, bytes], dict[str, Path], dict[str, Any]]:
    """(small files as bytes, evidence files to copy, facts for the summary) — read in one transaction."""
    shop = show_shop(session, shop_id, item_limit=100_000)
    items = _items(session, shop["id"])
    tds = [t for t in list_takedowns(session, limit=100_000) if t.shop_id == shop["id"]]
    td_rows = []
    capture_ids = {i["capture_id"] for i in items if i["capture_id"]}
    for t in tds:
        row = history_json(session, t)
        capture_ids |= {c for e in row["events"] for c in e["captures"]}
        td_rows.append(row)
    files: dict[str, bytes] = {}
    copies: dict[str, Path] = {}
    capture_list = []
    for c in session.scalars(select(Capture).where(Capture.id.in_(capture_ids)).order_by(Capture.id)):
        entry = {
            "id": c.id,
            "url": c.url,
            "final_url": c.final_url,
            "status": c.status,
            "fetched_at": c.fetched_at.isoformat(),
            "sha256": c.sha256,
            "error": c.error,
            "file": None,
        }
        if c.warc_file and c.warc_offset is not None:
            name = f"captures/capture-{c.id}.warc.gz"
            files[name] = capture_records(rt.settings.data_dir / c.warc_file, c.warc_offset)
            entry["file"] = name
        if c.screenshot_warc_file and c.screenshot_warc_offset is not None:
            name = f"captures/capture-{c.id}-screenshot.warc.gz"
            files[name] = capture_records(rt.settings.data_dir / c.screenshot_warc_file, c.screenshot_warc_offset)
            entry["screenshot_file"], entry["screenshot_sha256"] = name, c.screenshot_sha256
        capture_list.append(entry)
    for item in items:
        for media in item["media"] or []:
            digest = media.get("sha256") if isinstance(media, dict) else None
            if isinstance(digest, str) and _SHA.fullmatch(digest) and rt.store.blob_path(digest).exists():
                copies[f"blobs/{digest}"] = rt.store.blob_path(digest)
            elif isinstance(digest, str) and _SHA.fullmatch(digest) and rt.store.has_blob(digest):
                # A reporter's sealed original: the case file carries it opened (its hash is its name).
                files[f"blobs/{digest}"] = rt.store.get_blob(digest, contact_key(rt.settings))
    custody = _custody(session, shop, {i["id"] for i in items}, [t["id"] for t in td_rows], capture_ids)
    files["shop.json"] = _dump({k: v for k, v in shop.items() if k != "item_list"})
    files["items.jsonl"] = "".join(
        json.dumps(i, ensure_ascii=False, default=str) + "\n" for i in items
    ).encode()
    files["captures.json"] = _dump(capture_list)
    files["takedowns.json"] = _dump(td_rows)
    files["custody.jsonl"] = "".join(
        json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in custody
    ).encode()
    facts = {"shop": shop, "takedowns": td_rows, "items": items, "captures": capture_list}
    return files, copies, facts


def _timeline(facts: dict[str, Any]) -> list[tuple[datetime, str]]:
    out = [(datetime.fromisoformat(facts["shop"]["created_at"]), "магазин выявлен")]
    for item in facts["items"]:
        at = item["published_at"] or item["first_seen_at"]
        out.append((at, f"материал {item['id']}: {item['url']}"))
    for c in facts["captures"]:
        out.append(
            (
                datetime.fromisoformat(c["fetched_at"]),
                f"снимок {c['id']} (HTTP {c['status'] or '—'}): {c['url']}",
            )
        )
    for t in facts["takedowns"]:
        for e in t["events"]:
            out.append(
                (
                    datetime.fromisoformat(e["at"]),
                    f"блокировка {t['id']}: {STATES.get(e['to'], e['to'])} ({e['actor']})",
                )
            )
    return out


def _timestamp_files(rt: Runtime, session: Session, capture_ids: set[int]) -> dict[str, bytes]:
    """Statements (and tokens) that list these captures, plus the newest one (it holds the audit head)."""
    from shekteu.db.evidence_tables import EvidenceStamp, StampedCapture

    ids = set(session.scalars(select(StampedCapture.stamp_id).where(StampedCapture.capture_id.in_(capture_ids))))
    newest = session.scalar(select(EvidenceStamp.id).order_by(EvidenceStamp.id.desc()).limit(1))
    ids |= {newest} if newest else set()
    files = {}
    for row in session.scalars(select(EvidenceStamp).where(EvidenceStamp.id.in_(ids))):
        files[f"timestamps/stamp-{row.sha256[:16]}.txt"] = row.statement.encode()
        files[f"timestamps/stamp-{row.sha256[:16]}.tsr"] = row.token
    if files and rt.settings.tsa_ca_file and rt.settings.tsa_ca_file.exists():
        files["timestamps/tsa-ca.pem"] = rt.settings.tsa_ca_file.read_bytes()
    return files


def _stamp_first(rt: Runtime, actor: str | None) -> str | None:
    """Timestamp what is new (these captures among it) before packing; the error, if any, for the manifest."""
    if not rt.settings.tsa_url:
        return "no time-stamping authority is set (SHEKTEU_TSA_URL): the captures are not timestamped"
    from shekteu.evidence.timestamps import TimestampError, stamp

    try:
        stamp(rt, actor=actor)
    except TimestampError as exc:
        return str(exc)
    return None


def build_dossier(rt: Runtime, shop_id: int, out: Path, *, actor: str | None = None, lang: str = "ru") -> DossierSummary:
    from shekteu.audit_check import check_runtime
    from shekteu.evidence import wacz

    out = out.expanduser()
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise DossierError(f"{out} exists and is not empty: choose a new path")
    stamp_note = _stamp_first(rt, actor)
    try:
        from shekteu.shops.edit import ShopError

        with rt.db.read() as session:
            files, copies, facts = collect(rt, session, shop_id)
            capture_ids = {c["id"] for c in facts["captures"] if c["file"]}
            files.update(_timestamp_files(rt, session, capture_ids))
            packed = wacz.select_captures(session, ids=sorted(capture_ids)) if capture_ids else []
    except ShopError as exc:
        raise DossierError(str(exc)) from None
    chain_report = check_runtime(rt)
    scratch = Path(tempfile.mkdtemp(prefix=".dossier-wacz-", dir=out.parent if out.parent.exists() else None))
    try:
        if packed:
            wacz.build(rt.settings.data_dir, packed, scratch / "evidence.wacz", title=f"Shekteu: {facts['shop']['name']}")
            copies["evidence.wacz"] = scratch / "evidence.wacz"
        return _finish(rt, out, files, copies, facts, chain_report, stamp_note, actor, lang)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _integrity_note(chain_intact: bool, stamped: bool, lang: str) -> str:
    if lang == "kk":
        note = ("Аудит журналының тізбегі тексерілді: бұзылмаған." if chain_intact
                else "НАЗАР АУДАРЫҢЫЗ: аудит журналының тізбегі бұзылған (custody.jsonl қараңыз).")  # fmt: skip
        note += " Досьенің әр файлының SHA-256 мәні — manifest.json ішінде."
        return note + (" RFC 3161 уақыт белгілері — timestamps/ ішінде." if stamped else " RFC 3161 уақыт белгілері алынбады.")
    note = ("Цепочка журнала аудита проверена: не нарушена." if chain_intact
            else "ВНИМАНИЕ: цепочка журнала аудита нарушена (см. custody.jsonl).")  # fmt: skip
    note += " SHA-256 каждого файла досье — в manifest.json."
    return note + (" Метки времени RFC 3161 на записи захватов и голову журнала — в timestamps/." if stamped
                   else " Метки времени RFC 3161 не получены.")  # fmt: skip


def _finish(
    rt: Runtime, out: Path, files: dict[str, bytes], copies: dict[str, Path], facts: dict[str, Any],
    chain_report: Any, stamp_note: str | None, actor: str | None, lang: str = "ru",
) -> DossierSummary:
    chain_intact = chain_report.ok
    note = _integrity_note(chain_intact, stamp_note is None, lang)
    files["summary.pdf"] = render(facts["shop"], facts["takedowns"], _timeline(facts), note,
                                  captures=facts["captures"], items=facts["items"], lang=lang)  # fmt: skip
    listing = [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        for name, data in sorted(files.items())
    ]
    for name, path in sorted(copies.items()):
        data = path.read_bytes()
        listing.append({"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = _dump(
        {
            "shop_id": facts["shop"]["id"],
            "shop_name": facts["shop"]["name"],
            "created_at": utcnow().isoformat(),
            "created_by": actor or audit.current_actor(),
            "software": "shekteu",
            "audit_chain_intact": chain_intact,
            "audit_problems": chain_report.problems,
            "timestamps": stamp_note or "captures and the audit head are timestamped (timestamps/)",
            "files": sorted(listing, key=lambda f: f["path"]),
        }
    )
    files["manifest.json"] = manifest
    _write(out, files, copies)
    digest = hashlib.sha256(manifest).hexdigest()
    with rt.db.write() as session:
        audit.record(
            session,
            "dossier.export",
            f"shop:{facts['shop']['id']}",
            actor=actor,
            reason="dossier for a criminal case",
            detail={"path": str(out), "manifest_sha256": digest},
        )
    total = sum(f["bytes"] for f in listing) + len(manifest)
    return DossierSummary(out, len(listing) + 1, total, len(facts["captures"]), digest, chain_intact)


def _write(out: Path, files: dict[str, bytes], copies: dict[str, Path]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".zip":
        fd, tmp_name = tempfile.mkstemp(prefix=".dossier-", suffix=".zip", dir=out.parent)
        tmp = Path(tmp_name)
        try:
            with open(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in sorted(files.items()):
                    zf.writestr(name, data)
                for name, path in sorted(copies.items()):
                    zf.write(path, name)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        return
    tmp_dir = Path(tempfile.mkdtemp(prefix=".dossier-", dir=out.parent))
    try:
        for name, data in files.items():
            (tmp_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_dir / name).write_bytes(data)
        for name, path in copies.items():
            (tmp_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp_dir / name)
        if out.exists():
            out.rmdir()
        tmp_dir.replace(out)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
