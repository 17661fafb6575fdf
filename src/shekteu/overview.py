"""The outcome funnel and weekly trends the dashboard opens with: from citizens' tips to blocked
shops and criminal cases, and from graffiti reported to walls painted and confirmed.

Counts come from a few aggregate queries (no rows are loaded), so the overview stays fast with
hundreds of thousands of tips.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from shekteu.db.tables import Case, ShopItem, Spot, SpotPhoto, Takedown, Tip, utcnow


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def funnel(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Two funnels, each a list of {"step", "count"} from the widest step to the narrowest."""
    tips = _count(session, select(func.count()).select_from(Tip))
    verified = _count(session, select(func.count(distinct(Tip.id))).select_from(Tip)
                      .join(ShopItem, ShopItem.item_id == Tip.item_id))  # fmt: skip
    sent = _count(session, select(func.count()).select_from(Takedown).where(Takedown.sent_at.is_not(None)))
    blocked = _count(
        session, select(func.count()).select_from(Takedown).where(Takedown.blocked_at.is_not(None))
    )
    confirmed = _count(
        session, select(func.count()).select_from(Takedown).where(Takedown.verified_at.is_not(None))
    )
    cases = _count(session, select(func.count()).select_from(Case))
    spots = _count(session, select(func.count()).select_from(Spot))
    painted = _count(
        session, select(func.count(distinct(SpotPhoto.spot_id))).where(SpotPhoto.role == "after")
    )
    spots_confirmed = _count(
        session, select(func.count()).select_from(Spot).where(Spot.status == "confirmed")
    )
    return {
        "reports": [{"step": "tips", "count": tips}, {"step": "verified", "count": verified},
                    {"step": "takedowns_sent", "count": sent}, {"step": "blocked", "count": blocked},
                    {"step": "block_verified", "count": confirmed}, {"step": "criminal_cases", "count": cases}],
        "graffiti": [{"step": "reported", "count": spots}, {"step": "painted", "count": painted},
                     {"step": "confirmed", "count": spots_confirmed}],
    }  # fmt: skip


def _per_day(session: Session, column: Any, since: datetime) -> dict[date, int]:
    day = func.date(column)
    rows = session.execute(select(day, func.count()).where(column >= since).group_by(day)).all()
    out: dict[date, int] = {}
    for value, n in rows:
        key = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        out[key] = out.get(key, 0) + int(n)
    return out


def trends(session: Session, weeks: int = 12, today: date | None = None) -> dict[str, Any]:
    """Counts per ISO week (Monday first), oldest first: tips, takedowns sent and blocked, spots reported."""
    today = today or utcnow().date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=utcnow().tzinfo)
    series = {"tips": _per_day(session, Tip.created_at, since), "sent": _per_day(session, Takedown.sent_at, since),
              "blocked": _per_day(session, Takedown.blocked_at, since),
              "spots": _per_day(session, Spot.created_at, since)}  # fmt: skip
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    out: dict[str, Any] = {"weeks": [s.isoformat() for s in starts]}
    for name, days in series.items():
        counts = [0] * weeks
        for d, n in days.items():
            index = (d - first).days // 7
            if 0 <= index < weeks:
                counts[index] += n
        out[name] = counts
    return out


def needs_you(session: Session, name: str, roles: set[str]) -> list[dict[str, Any]]:
    """What waits for this person now, by what their roles do: tips to triage (analysts), takedowns
    awaiting their approval (approvers; never their own proposals), overdue spots (coordinators),
    quarantined jobs (admins) and open sensor alerts (analysts). Only non-zero items are listed."""
    from shekteu.db.ops_tables import Job
    from shekteu.db.seismic_tables import SeismicAlert

    admin = "admin" in roles
    items: list[tuple[str, Any, str]] = []
    count = select(func.count())
    if admin or "analyst" in roles:
        items.append(("tips_to_triage", count.select_from(Tip).where(Tip.status == "received"),
                      "/dash/tips?status=received"))  # fmt: skip
        items.append(("sensor_alerts", count.select_from(SeismicAlert).where(SeismicAlert.state == "open"),
                      "/dash/sensors"))  # fmt: skip
    if admin or "approver" in roles:
        waiting = count.select_from(Takedown).where(Takedown.state == "proposed", Takedown.proposed_by != name)
        items.append(("takedowns_to_approve", waiting, "/dash/takedowns?state=proposed"))
    if admin or "coordinator" in roles:
        late = count.select_from(Spot).where(Spot.status == "assigned", Spot.due_at.is_not(None), Spot.due_at < utcnow())
        items.append(("overdue_spots", late, "/dash/board"))
    if admin:
        items.append(("quarantined_jobs", count.select_from(Job).where(Job.state == "quarantined"), "/dash/queue"))
    out = [{"key": key, "count": _count(session, query), "href": href} for key, query, href in items]
    return [row for row in out if row["count"]]
