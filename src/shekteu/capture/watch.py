"""Watched pages and channels: re-captured on a schedule, so their history shows edits, outages, returns
and moves — until they are stopped or the takedown of their target is verified.

The queue's upkeep (``queue/maintain.py``, every minute) queues one ``watch`` job per due watch, with
the watch as its dedup key so a slow capture is never doubled; the job captures (outside any
transaction) and then moves the watch's next time on in one short transaction. Adding the same
target twice updates the one watch. Every change to a watch is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.evidence_tables import Watch
from shekteu.db.tables import Takedown, utcnow
from shekteu.queue.jobs import enqueue
from shekteu.runtime import Runtime

MIN_EVERY = 300  # seconds: a watch is evidence-keeping, not load on somebody's server
MAX_EVERY = 365 * 86400
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TG = re.compile(r"^(?:@|(?:https?://)?t\.me/(?:s/)?)([A-Za-z][A-Za-z0-9_]{3,31})/?$")


class WatchError(ValueError):
    """A watch that cannot be added or changed; nothing was written."""


def parse_every(text: str) -> int:
    """Seconds in ``6h``, ``30m``, ``2d``, ``1w``; at least five minutes, at most a year."""
    m = _INTERVAL.match(text or "")
    if not m:
        raise WatchError(f"--every {text!r}: give a number and a unit, e.g. 30m, 6h, 1d")
    seconds = int(float(m.group(1)) * _UNIT[m.group(2).lower()])
    if not MIN_EVERY <= seconds <= MAX_EVERY:
        raise WatchError(f"--every {text!r}: between 5m and 365d")
    return seconds


def target_of(raw: str) -> tuple[str, str]:
    """(kind, normalised target): ``telegram`` for @channel / t.me links, else ``url``."""
    from shekteu.capture.web import normalise_url

    raw = raw.strip()
    m = _TG.match(raw)
    if m and not raw.lower().startswith(("http://t.me/c/", "https://t.me/c/")):
        return "telegram", "@" + m.group(1).lower()
    try:
        url = normalise_url(raw)
    except ValueError as exc:
        raise WatchError(f"{raw[:200]!r}: {exc}") from None
    if urlsplit(url).scheme not in ("http", "https"):
        raise WatchError(f"{raw[:200]!r}: only http(s) pages and Telegram channels can be watched")
    return "url", url


def add(session: Session, raw: str, every: str, *, until_verified: bool, actor: str) -> Watch:
    kind, target = target_of(raw)
    seconds = parse_every(every)
    now = utcnow()
    action = "watch.change"
    watch = session.scalars(select(Watch).where(Watch.target == target).with_for_update()).first()
    if watch is None:
        try:
            with session.begin_nested():  # two people adding one target at once: the second updates
                watch = Watch(target=target, kind=kind, every_seconds=seconds, until_verified=until_verified,
                              active=True, next_at=now, captures=0, created_by=actor, created_at=now)  # fmt: skip
                session.add(watch)
                session.flush()
            action = "watch.add"
        except IntegrityError:
            watch = session.scalars(select(Watch).where(Watch.target == target).with_for_update()).one()
    if action != "watch.add":
        watch.every_seconds, watch.until_verified, watch.active, watch.stopped_reason = seconds, until_verified, True, None
        watch.next_at = min(watch.next_at, now + timedelta(seconds=seconds))
    audit.record(session, action, f"watch:{watch.id}", actor=actor, reason="re-capture on a schedule",
                 detail={"target": target, "every_seconds": seconds, "until_verified": until_verified})  # fmt: skip
    return watch


def stop(session: Session, ref: str, *, actor: str, reason: str) -> Watch:
    query = select(Watch).with_for_update()
    watch = session.scalars(query.where(Watch.id == int(ref)) if ref.isdigit() else
                            query.where(Watch.target == target_of(ref)[1])).first()  # fmt: skip
    if watch is None:
        raise WatchError(f"no watch {ref!r}")
    if not reason.strip():
        raise WatchError("stopping a watch needs --reason")
    watch.active, watch.stopped_reason = False, reason
    audit.record(session, "watch.stop", f"watch:{watch.id}", actor=actor, reason=reason, detail={"target": watch.target})
    return watch


def watch_json(w: Watch) -> dict[str, Any]:
    return {"id": w.id, "target": w.target, "kind": w.kind, "every_seconds": w.every_seconds,
            "until_verified": w.until_verified, "active": w.active, "next_at": w.next_at.isoformat(),
            "last_capture_id": w.last_capture_id, "captures": w.captures, "stopped_reason": w.stopped_reason,
            "created_by": w.created_by, "created_at": w.created_at.isoformat()}  # fmt: skip


def listing(session: Session, *, all_: bool = False) -> list[Watch]:
    query = select(Watch).order_by(Watch.next_at, Watch.id)
    return list(session.scalars(query if all_ else query.where(Watch.active.is_(True))))


def queue_due(session: Session) -> list[int]:
    """Queue a ``watch`` job for each due watch (once: the watch is the job's dedup key)."""
    made = []
    for wid in session.scalars(select(Watch.id).where(Watch.active.is_(True), Watch.next_at <= utcnow())):
        job = enqueue(session, "watch", f"watch:{wid}", {"watch": wid}, dedup=f"watch:{wid}")
        if job is not None:
            made.append(job)
    return made


def _verified(session: Session, watch: Watch) -> int | None:
    """The id of a verified takedown of the watch's target (its page, its domain, its channel)."""
    if watch.kind == "telegram":
        names = [watch.target]
        match = Takedown.target.in_(names) & Takedown.target_type.startswith("telegram_")
    else:
        host = (urlsplit(watch.target).hostname or "").removeprefix("www.")
        match = or_((Takedown.target_type == "url") & (Takedown.target == watch.target),
                    (Takedown.target_type == "domain") & (Takedown.target == host))  # fmt: skip
    return session.scalar(select(Takedown.id).where(match, Takedown.state == "verified").limit(1))


@dataclass
class WatchRun:
    watch: int
    capture: int | None
    stopped: str | None

    def as_json(self) -> dict[str, Any]:
        return {"watch": self.watch, "capture": self.capture, "stopped": self.stopped}


def run_watch(rt: Runtime, watch_id: int) -> WatchRun:
    """Capture the watch's target now (if it is still active), then schedule its next capture."""
    with rt.db.read() as s:
        watch = s.get(Watch, watch_id)
        if watch is None or not watch.active:
            return WatchRun(watch_id, None, "inactive")
        kind, target, until = watch.kind, watch.target, watch.until_verified
        verified = _verified(s, watch) if until else None
    if verified is None:
        capture_id = _capture(rt, kind, target)
    else:
        capture_id = None
    with rt.db.write() as s:
        watch = s.scalars(select(Watch).where(Watch.id == watch_id).with_for_update()).one()
        if capture_id is not None:
            watch.last_capture_id, watch.captures = capture_id, watch.captures + 1
        watch.next_at = utcnow() + timedelta(seconds=watch.every_seconds)
        stopped = None
        if verified is not None:
            watch.active, watch.stopped_reason = False, f"takedown {verified} verified"
            stopped = watch.stopped_reason
            audit.record(s, "watch.stop", f"watch:{watch_id}", actor="system:watch", reason=stopped,
                         detail={"target": target, "takedown": verified})  # fmt: skip
    return WatchRun(watch_id, capture_id, stopped)


def _capture(rt: Runtime, kind: str, target: str) -> int | None:
    if kind == "telegram":
        from shekteu.capture.telegram_web import ChannelError, capture_channel

        try:
            run = capture_channel(rt, target, pages=1, wait=False)
        except ChannelError:
            return None
        return run.captures[0].id if run.captures else None
    from shekteu.capture.web import capture_urls

    (outcome,) = capture_urls(rt, [target], wait=False, screenshot=None)
    return outcome.id


def watch_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``watch`` stage: one due watch, captured and moved on."""
    return run_watch(rt, int(payload["watch"])).as_json()
