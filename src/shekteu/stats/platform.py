"""The platform's own figures for a period, in the same measures as the releases: tips received, shops
found, sites, channels, bots, accounts, cards and wallets blocked, blocks verified, reappearances,
criminal cases its evidence fed, graffiti painted over, field hectares mapped and destroyed, seismic
alerts — for the country and, where the platform knows the place, per oblast (KATO).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.stats import StatsError
from shekteu.stats.store import _source, add_figures, sha256

BLOCKED = {"url": "sites_blocked", "domain": "sites_blocked", "telegram_channel": "channels_blocked",
           "telegram_bot": "bots_blocked", "telegram_account": "accounts_blocked", "bank_card": "card_accounts_blocked",
           "wallet": "crypto_wallets_blocked"}  # fmt: skip


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def _oblast(areas: Any, lat: float | None, lon: float | None) -> str | None:
    if lat is None or lon is None:
        return None
    area = next((a for a in areas if a.contains(lat, lon)), None)
    return area.kato[:2] + "0000000" if area and area.kato else None


def compute(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """Figures for ``start``…``end`` (inclusive): country totals, and per oblast where places are known."""
    from shekteu.db.seismic_tables import SeismicAlert
    from shekteu.db.tables import Case, FieldSite, Shop, Spot, Takedown, TakedownEvent, Tip
    from shekteu.geo import boundaries

    if end < start:
        raise StatsError(f"period {start}/{end} ends before it starts")
    lo, hi = _bounds(start, end)
    areas = boundaries.load()
    counts: Counter[tuple[str, str]] = Counter()
    sums: Counter[tuple[str, str]] = Counter()

    def count(measure: str, region: str | None, n: float = 1) -> None:
        counts[(measure, "KZ")] += n
        if region:
            counts[(measure, region)] += n

    for lat, lon in session.execute(select(Tip.lat, Tip.lon).where(Tip.created_at >= lo, Tip.created_at < hi)):
        count("tips_received", _oblast(areas, lat, lon))
    n = session.scalar(select(func.count()).select_from(Shop).where(Shop.created_at >= lo, Shop.created_at < hi,
                                                                    Shop.merged_into.is_(None)))  # fmt: skip
    if n:
        counts[("shops_found", "KZ")] += n
    for (kind,) in session.execute(select(Takedown.target_type).where(Takedown.blocked_at >= lo, Takedown.blocked_at < hi)):
        if kind in BLOCKED:
            count(BLOCKED[kind], None)
    n = session.scalar(select(func.count()).select_from(Takedown).where(Takedown.verified_at >= lo, Takedown.verified_at < hi))
    if n:
        counts[("takedowns_verified", "KZ")] += n
    n = session.scalar(select(func.count()).select_from(TakedownEvent).where(
        TakedownEvent.to_state == "reappeared", TakedownEvent.at >= lo, TakedownEvent.at < hi))  # fmt: skip
    if n:
        counts[("takedowns_reappeared", "KZ")] += n
    n = session.scalar(select(func.count()).select_from(Case).where(Case.opened_at >= lo, Case.opened_at < hi))
    if n:
        counts[("criminal_cases", "KZ")] += n
    for (kato,) in session.execute(select(Spot.kato).where(Spot.status.in_(("painted", "confirmed")),
                                                          Spot.updated_at >= lo, Spot.updated_at < hi)):  # fmt: skip
        count("graffiti_removed", kato[:2] + "0000000" if kato else None)
    for kato, ha, status, created, updated in session.execute(
        select(FieldSite.kato, FieldSite.hectares, FieldSite.status, FieldSite.created_at, FieldSite.updated_at)
    ):
        region = kato[:2] + "0000000" if kato else None
        if lo <= _aware(created) < hi:
            for key in (("field_area_mapped", "KZ"), ("field_area_mapped", region)):
                if key[1]:
                    sums[key] += ha or 0
        if status == "destroyed" and lo <= _aware(updated) < hi:
            for key in (("field_area_destroyed", "KZ"), ("field_area_destroyed", region)):
                if key[1]:
                    sums[key] += ha or 0
    n = session.scalar(select(func.count()).select_from(SeismicAlert).where(
        SeismicAlert.kind == "activity", SeismicAlert.first_at >= lo, SeismicAlert.first_at < hi))  # fmt: skip
    if n:
        counts[("seismic_alerts", "KZ")] += n
    period = f"{start.isoformat()}/{end.isoformat()}"
    out = [{"measure": m, "value": float(v), "unit": "count", "region": r, "period": period} for (m, r), v in counts.items()]
    out += [{"measure": m, "value": round(float(v), 4), "unit": "ha", "region": r, "period": period}
            for (m, r), v in sums.items() if v]  # fmt: skip
    return sorted(out, key=lambda f: (f["measure"], f["region"] != "KZ", f["region"]))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def store(session: Session, start: date, end: date, *, actor: str) -> tuple[list[dict[str, Any]], int]:
    """Compute and keep the platform's figures for the period: (figures, how many were new)."""
    import json

    figures = compute(session, start, end)
    digest = sha256("platform" + json.dumps(figures, sort_keys=True))
    src, new = _source(session, kind="platform", digest=digest, actor=actor, name=f"Shekteu {start}/{end}", text="",
                       released_on=datetime.now(UTC).date().isoformat())  # fmt: skip
    if not new:
        return figures, 0
    added = add_figures(session, src, figures)
    audit.record(session, "stats.platform", f"stat_source:{src.id}", actor=actor, reason="platform figures counted",
                 detail={"period": f"{start}/{end}", "figures": added})  # fmt: skip
    return figures, added
