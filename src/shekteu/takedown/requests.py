"""Takedown requests as the recipients take them: approved, not yet sent, one file per recipient.

Exporting marks each exported takedown ``sent`` in the same transaction that reads it, so a request
is never sent twice and never lost: if writing the file fails, the transaction rolls back and the
takedowns stay approved. Cells that a spreadsheet would run as formulas are neutralised (the targets
and reasons come from hostile pages).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Capture, Shop, Takedown, TakedownEvent
from shekteu.takedown.lifecycle import RECIPIENTS, TakedownError, mark
from shekteu.users import require

FORMATS = ("csv", "json")
COLUMNS = (
    "id",
    "target_type",
    "target",
    "shop_id",
    "shop_name",
    "reason",
    "proposed_by",
    "approved_by",
    "approved_at",
    "evidence",
)


def spreadsheet_safe(value: object) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ (formula) gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(session: Session, tds: list[Takedown]) -> list[dict[str, Any]]:
    rows = []
    for td in tds:
        events = list(
            session.scalars(
                select(TakedownEvent).where(TakedownEvent.takedown_id == td.id).order_by(TakedownEvent.id)
            )
        )
        proposal = next(e for e in events if e.to_state == "proposed")
        approval = next(e for e in reversed(events) if e.to_state == "approved")
        capture_ids = sorted({c for e in events for c in e.capture_ids})
        captures = session.execute(
            select(Capture.id, Capture.url, Capture.fetched_at, Capture.sha256).where(
                Capture.id.in_(capture_ids)
            )
        ).all()
        shop = session.get(Shop, td.shop_id) if td.shop_id else None
        rows.append(
            {
                "id": td.id,
                "target_type": td.target_type,
                "target": td.target,
                "shop_id": td.shop_id,
                "shop_name": shop.name if shop else None,
                "reason": proposal.reason,
                "proposed_by": td.proposed_by,
                "approved_by": td.approved_by,
                "approved_at": approval.at.isoformat(),
                "evidence": [
                    {
                        "capture": c.id,
                        "url": c.url,
                        "fetched_at": c.fetched_at.isoformat(),
                        "sha256": c.sha256,
                    }
                    for c in captures
                ],
            }
        )
    return rows


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        evidence = " ".join(f"capture:{e['capture']}:sha256:{e['sha256']}" for e in r["evidence"])
        writer.writerow([spreadsheet_safe(evidence if c == "evidence" else r[c]) for c in COLUMNS])
    return buf.getvalue()


def export_requests(
    session: Session, recipient: str, fmt: str, *, actor: str | None
) -> tuple[str, list[int]]:
    """The approved, unsent takedowns for ``recipient`` as ``fmt``; each is marked sent.

    ``actor`` is the user who sends them (role checked); None records the local account instead.
    """
    if recipient not in RECIPIENTS:
        raise TakedownError(f"unknown recipient {recipient!r}; use one of {', '.join(RECIPIENTS)}")
    if fmt not in FORMATS:
        raise TakedownError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    sender = require(session, actor, "analyst", "approver").name if actor else audit.current_actor()
    tds = list(
        session.scalars(
            select(Takedown)
            .where(Takedown.recipient == recipient, Takedown.state == "approved")
            .order_by(Takedown.id)
            .with_for_update()  # a second export at once waits, then finds them sent (issue 20)
        )
    )
    if not tds:
        raise TakedownError(f"nothing to export: no approved takedown waits for {recipient}")
    rows = _rows(session, tds)
    for td in tds:
        mark(
            session,
            td.id,
            "sent",
            actor=sender,
            reason=f"exported to {recipient} as {fmt}",
            detail={"export": fmt},
            system=True,
        )
    return render(rows, fmt), [td.id for td in tds]
