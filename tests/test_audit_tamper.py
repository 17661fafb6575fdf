"""The audit log shows every way of tampering with it from the database: 15 cases, each caught.

The attacker here can write any SQL (a database administrator, a stolen backup restored, an injection)
but does not hold the audit key or the files outside the database. Each case starts from 80 honest
entries, applies one tampering through a raw connection, and expects `audit verify` to name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from shekteu import audit
from shekteu.audit_check import check_runtime
from shekteu.runtime import Runtime, keys_dir
from tests.test_cli import run

Tamper = Callable[[Runtime], None]


def _sql(rt: Runtime, *statements: str, params: dict | None = None) -> None:
    with rt.db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params or {})


def _rows(rt: Runtime) -> list[dict]:
    with rt.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY id"))]


def _rehash_from(rt: Runtime, start: int) -> None:
    """Recompute the chain from entry ``start`` on, as an attacker who read audit.py would (no key)."""
    rows = _rows(rt)
    prev = next((r["hash"] for r in reversed(rows) if r["id"] < start), audit.GENESIS)
    with rt.db.engine.begin() as conn:
        for r in rows:
            if r["id"] < start:
                continue
            detail = json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"]
            new = audit.digest_of(prev, _iso(r["at"]), r["actor"], r["action"], r["target"], r["reason"], detail)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                         {"p": prev, "h": new, "i": r["id"]})  # fmt: skip
            prev = new


def _iso(at: object) -> str:
    from datetime import UTC, datetime

    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _append_forged(rt: Runtime, seal: str | None) -> None:
    last = _rows(rt)[-1]
    at = "2026-12-01T10:00:00+00:00"
    forged = audit.digest_of(last["hash"], at, "web:aliya", "takedown.approved", "takedown:1", "forged", {})
    _sql(rt, "INSERT INTO audit_log (id, at, actor, action, target, reason, detail, prev_hash, hash, seal) "
             "VALUES (:i, :at, 'web:aliya', 'takedown.approved', 'takedown:1', 'forged', '{}', :p, :h, :s)",
         params={"i": last["id"] + 1, "at": at, "p": last["hash"], "h": forged, "s": seal})  # fmt: skip


def _swap(rt: Runtime) -> None:
    a, b = _rows(rt)[10], _rows(rt)[11]
    for row, other in ((a, b), (b, a)):
        _sql(rt, "UPDATE audit_log SET target = :t, reason = :r WHERE id = :i",
             params={"t": other["target"], "r": other["reason"], "i": row["id"]})  # fmt: skip


def _insert_middle(rt: Runtime) -> None:
    rows = _rows(rt)
    with rt.db.engine.begin() as conn:
        for r in reversed(rows[40:]):  # make room after entry 40, keeping each row's content
            conn.execute(text("UPDATE audit_log SET id = :n, hash = :h WHERE id = :i"),
                         {"n": r["id"] + 1000, "h": r["hash"][:-1] + "x", "i": r["id"]})  # fmt: skip
        for r in rows[40:]:
            conn.execute(text("UPDATE audit_log SET id = :n, hash = :h WHERE id = :i"),
                         {"n": r["id"] + 1, "h": r["hash"], "i": r["id"] + 1000})  # fmt: skip
    inserted = rows[40]["id"]
    at = "2026-12-01T10:00:00+00:00"
    h = audit.digest_of(rows[39]["hash"], at, "cli:root", "shop.merge", "shop:1", "inserted", {})
    _sql(rt, "INSERT INTO audit_log (id, at, actor, action, target, reason, detail, prev_hash, hash) "
             "VALUES (:i, :at, 'cli:root', 'shop.merge', 'shop:1', 'inserted', '{}', :p, :h)",
         params={"i": inserted, "at": at, "p": rows[39]["hash"], "h": h})  # fmt: skip


CASES: dict[str, Tamper] = {
    "edit a reason": lambda rt: _sql(rt, "UPDATE audit_log SET reason = 'rewritten' WHERE id = 20"),
    "edit an actor": lambda rt: _sql(rt, "UPDATE audit_log SET actor = 'web:nobody' WHERE id = 21"),
    "edit a detail": lambda rt: _sql(rt, "UPDATE audit_log SET detail = '{\"i\": 999}' WHERE id = 22"),
    "edit a time": lambda rt: _sql(rt, "UPDATE audit_log SET at = '2020-01-01 00:00:00' WHERE id = 23"),
    "edit a hash": lambda rt: _sql(rt, f"UPDATE audit_log SET hash = '{'a' * 64}' WHERE id = 24"),
    "delete one in the middle": lambda rt: _sql(rt, "DELETE FROM audit_log WHERE id = 30"),
    "reorder two entries": _swap,
    "insert one in the middle": _insert_middle,
    "cut the last entry": lambda rt: _sql(rt, "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"),
    "cut the last 50 entries": lambda rt: _sql(rt, "DELETE FROM audit_log WHERE id > 30"),
    "delete every entry": lambda rt: _sql(rt, "DELETE FROM audit_log"),
    "edit one and re-hash the rest": lambda rt: (
        _sql(rt, "UPDATE audit_log SET reason = 'rewritten' WHERE id = 40"), _rehash_from(rt, 40)),
    "append a forged entry": lambda rt: _append_forged(rt, None),
    "append a forged entry with a copied seal": lambda rt: _append_forged(rt, _rows(rt)[-1]["seal"]),
    "drop the first and re-hash from genesis": lambda rt: (
        _sql(rt, "DELETE FROM audit_log WHERE id = 1"), _rehash_from(rt, 2)),
}


def _honest(rt: Runtime, n: int = 80) -> None:
    for i in range(0, n, 20):
        with rt.db.write() as s:
            for j in range(i, i + 20):
                audit.record(s, "test.action", f"thing:{j}", actor="cli:test", reason=f"because {j}", detail={"i": j})


def test_there_are_fifteen_cases() -> None:
    assert len(CASES) == 15


@pytest.mark.parametrize("case", list(CASES))
def test_each_tampering_is_caught(rt: Runtime, case: str) -> None:
    _honest(rt)
    before = check_runtime(rt)
    assert before.ok, before.problems
    assert before.entries == 80 == before.sealed and before.witness_id == 80
    CASES[case](rt)
    after = check_runtime(rt)
    assert not after.ok, case
    assert all("Traceback" not in p for p in after.problems)


def test_the_messages_say_what_happened(rt: Runtime) -> None:
    _honest(rt)
    _sql(rt, "DELETE FROM audit_log WHERE id > 30")
    assert any("ends at entry 30" in p and "at least 50 entries" in p for p in check_runtime(rt).problems)
    _sql(rt, "DELETE FROM audit_log")
    assert any("every entry was deleted" in p for p in check_runtime(rt).problems)


def test_a_crash_before_the_witness_is_written_is_not_tampering(rt: Runtime) -> None:
    _honest(rt, 20)
    witness = keys_dir(rt.settings) / "audit-head.json"
    old = witness.read_text()
    _honest(rt, 20)
    witness.write_text(old)  # the process died between the commit and the witness write
    assert check_runtime(rt).ok


def test_an_edited_witness_file_is_caught(rt: Runtime) -> None:
    _honest(rt, 20)
    _sql(rt, "DELETE FROM audit_log WHERE id > 15")
    witness = keys_dir(rt.settings) / "audit-head.json"
    witness.write_text(json.dumps({"id": 15, "hash": _rows(rt)[-1]["hash"]}))  # no seal: forged
    assert any("not sealed under the audit key" in p for p in check_runtime(rt).problems)


def test_cli_audit_verify_exit_codes_and_json(env: dict[str, str], tmp_path: Path) -> None:
    ok = run(env, "audit", "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    for name in ("aliya", "bolat", "dana"):
        assert run(env, "users", "add", name, "--role", "analyst").returncode == 0
    rt = Runtime.__new__(Runtime)  # only the engine is needed to tamper
    from shekteu.db import Database

    rt.db = Database(env["SHEKTEU_DATABASE_URL"])
    _sql(rt, "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
    rt.db.close()
    bad = run(env, "audit", "verify")
    assert bad.returncode == 1
    assert "TAMPERED" in bad.stdout and "entries at the end were removed" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_cut_tail_stays_caught_after_honest_entries_follow(rt: Runtime) -> None:
    """Before the fix, on PostgreSQL (whose ids are never reused) a cut tail followed by new entries left
    a consistent chain and a witness that had moved on: nothing showed."""
    _honest(rt, 40)
    _sql(rt, "DELETE FROM audit_log WHERE id > 35")
    _honest(rt, 20)  # the platform goes on writing after the cut
    report = check_runtime(rt)
    assert not report.ok
    assert any("entry 40" in p and "cut or rewritten" in p for p in report.problems), report.problems
