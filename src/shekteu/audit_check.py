"""Whole-log verification: chain, seals, the witness file and timestamped heads, in words a reviewer reads.

`audit.verify_chain` shows an entry edited in place. The attacks it cannot see need something the
database does not hold: a cut tail or an emptied table (the witness file remembers the newest committed
entry), a rewrite re-hashed from an edit onwards or an entry appended by hand (each entry's seal needs
the audit key), and a rewrite by someone who also holds the key (the heads in RFC 3161 statements,
signed by a third party, under DATA_DIR/timestamps and in the database). ``shekteu audit verify`` and
the dashboard's audit page print this report.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import AuditEntry


@dataclass(frozen=True)
class Anchor:
    """A claim from outside the log: entry ``entry_id`` had hash ``entry_hash`` (``where`` says who says so)."""

    entry_id: int
    entry_hash: str
    where: str


@dataclass
class AuditReport:
    entries: int = 0
    sealed: int = 0
    last_id: int | None = None
    witness_id: int | None = None
    anchors_checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "sealed": self.sealed, "last_id": self.last_id,
                "witness_id": self.witness_id, "anchors_checked": self.anchors_checked,
                "problems": self.problems, "notes": self.notes}  # fmt: skip


_MAX_LISTED = 20  # problems of one kind listed one by one; the rest are counted


def check(
    session: Session, *, key: bytes | None, witness_path: Path | None, anchors: list[Anchor] = ()
) -> AuditReport:
    report = AuditReport()
    by_kind: dict[str, list[int]] = {}
    wanted = {a.entry_id: a for a in anchors}
    if witness_path is not None:
        witness = audit.read_witness(witness_path)
        if witness and witness.get("error"):
            report.problems.append(witness["error"])
            witness = None
        elif witness and not audit.witness_genuine(witness, key):
            report.problems.append(f"the witness file {witness_path} is not sealed under the audit key (edited)")
            witness = None
    else:
        witness = None
    if witness:
        report.witness_id = int(witness["id"])
        for gone in witness.get("broken") or []:
            report.problems.append(
                f"entry {gone.get('id')} (hash {str(gone.get('hash'))[:12]}…) was missing or changed when a later "
                f"entry was written ({str(gone.get('noticed'))[:19]}): the log was cut or rewritten before that")  # fmt: skip
        wanted.setdefault(report.witness_id, Anchor(report.witness_id, str(witness["hash"]), "the witness file"))
    found: dict[int, str] = {}
    prev, seen_seal = audit.GENESIS, False
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=2000))
    for entry in rows.scalars():
        report.entries += 1
        report.last_id = entry.id
        if entry.hash != audit._digest(entry.prev_hash, entry):
            by_kind.setdefault("edited", []).append(entry.id)
        elif entry.prev_hash != prev:
            by_kind.setdefault("link", []).append(entry.id)
        if entry.seal:
            seen_seal = True
            report.sealed += 1
            if key and not hmac.compare_digest(entry.seal, audit.seal_of(key, entry.hash)):
                by_kind.setdefault("seal", []).append(entry.id)
        elif seen_seal and key:
            by_kind.setdefault("unsealed", []).append(entry.id)
        if entry.id in wanted:
            found[entry.id] = entry.hash
        prev = entry.hash
    _describe(report, by_kind)
    if key and report.entries and not seen_seal:
        report.notes.append("no entry is sealed: the log was written before sealing began")
    elif not key:
        report.notes.append("no audit key given: seals were not checked")
    for anchor in sorted(wanted.values(), key=lambda a: a.entry_id):
        report.anchors_checked += 1
        if anchor.entry_id not in found:
            report.problems.append(_missing(anchor, report))
        elif found[anchor.entry_id] != anchor.entry_hash:
            report.problems.append(
                f"entry {anchor.entry_id} is not the one {anchor.where} records "
                f"(hash {found[anchor.entry_id][:12]}…, recorded {anchor.entry_hash[:12]}…): the log was rewritten"
            )
    if witness is None and witness_path is not None and report.entries:
        report.notes.append(f"no witness file at {witness_path}: a cut tail cannot be seen before the next entry")
    return report


def _missing(anchor: Anchor, report: AuditReport) -> str:
    if report.entries == 0:
        return f"the log is empty, but {anchor.where} records entry {anchor.entry_id}: every entry was deleted"
    if report.last_id is not None and anchor.entry_id > report.last_id:
        cut = anchor.entry_id - report.last_id
        return (f"the log ends at entry {report.last_id}, but {anchor.where} records entry {anchor.entry_id}: "
                f"at least {cut} entries at the end were removed")  # fmt: skip
    return f"entry {anchor.entry_id}, recorded by {anchor.where}, is missing from the log"


_WORDS = {
    "edited": "content does not match its hash (edited in place)",
    "link": "does not follow the entry before it (entries removed, reordered or inserted)",
    "seal": "seal does not match (written or re-hashed without the audit key)",
    "unsealed": "not sealed, though entries before it are (added outside Shekteu)",
}


def _describe(report: AuditReport, by_kind: dict[str, list[int]]) -> None:
    for kind, ids in by_kind.items():
        listed = ", ".join(str(i) for i in ids[:_MAX_LISTED])
        more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
        noun = "entry" if len(ids) == 1 else "entries"
        report.problems.append(f"{noun} {listed}{more}: {_WORDS[kind]}")


def check_runtime(rt: Any) -> AuditReport:
    """The whole check for this installation: its key, its witness file, every timestamped head (rows
    and files), and — where SHEKTEU_TSA_CA_FILE is set — the tokens behind those heads."""
    from shekteu.evidence import timestamps
    from shekteu.runtime import audit_key, keys_dir

    folder = timestamps.stamps_dir(rt.settings)
    with rt.db.read() as session:
        anchors = timestamps.db_anchors(session) + timestamps.file_anchors(folder)
        report = check(session, key=audit_key(rt.settings), witness_path=keys_dir(rt.settings) / "audit-head.json",
                       anchors=anchors)  # fmt: skip
    report.problems += timestamps.check_stamp_files(rt, report.notes)
    return report
