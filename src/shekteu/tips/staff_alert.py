"""The staff chat hears of a tip that scores high: a queued job, sent once, whatever runs.

The Telegram bot used to look for such tips in a pump of its own every few seconds and marked them
alerted before sending: a failed send lost the alert, two bots could both send it, and a platform
taking reports by webhook (no bot polling) alerted only when the next report happened to arrive.
Now the transaction that scores a tip (``process._finish``) queues a ``tip_alert`` job; any worker
sends it through the Bot API and marks the tip after the send, and a failed send is retried by the
queue with back-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shekteu.db.tables import Tip, utcnow
from shekteu.runtime import Runtime
from shekteu.settings import Settings


def wanted(settings: Settings, score: float | None) -> bool:
    """Does a tip of this score go to the staff chat here?"""
    return settings.telegram_staff_chat is not None and score is not None and score >= settings.tip_alert_score


def message(session: Session, tip: Tip) -> str:
    """The staff-chat text (Russian): ticket, kind, channel, score and the identifiers found."""
    from shekteu.tips.query import show_tip

    found = ", ".join(i["normalized"] for i in show_tip(session, tip)["indicators"][:8]) or "-"
    word = _russian()
    return f"Новое обращение {tip.ticket} ({word(tip.kind)}, {word(tip.channel)}), оценка {tip.score:.2f}: {found}"


def _russian() -> Callable[[str], str]:
    """The dashboard's Russian words for kinds and channels ("интернет-магазин", "веб-форма")."""
    try:
        from shekteu.web.i18n import translator

        return translator("ru")
    except ModuleNotFoundError:  # without the web extra (its catalogs are read with Babel): the codes
        return str


def tip_alert_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``tip_alert`` stage: one tip's alert to the staff chat; a failed send fails the job (retried)."""
    from shekteu.integrations.telegram.outbound import sender

    tip_id = int(payload["tip"])
    with rt.db.read() as session:
        tip = session.get(Tip, tip_id)
        if tip is None or tip.staff_alerted_at is not None:
            return {"sent": 0}
        text = message(session, tip)
    chat = rt.settings.telegram_staff_chat
    if chat is None or rt.settings.telegram_token is None:
        return {"sent": 0, "skipped": "no staff chat configured"}
    sender(rt)(str(chat), text)  # DeliveryError → the job fails and is retried with back-off
    with rt.db.write() as session:
        session.execute(update(Tip).where(Tip.id == tip_id, Tip.staff_alerted_at.is_(None))
                        .values(staff_alerted_at=utcnow()))  # fmt: skip
    return {"sent": 1}
