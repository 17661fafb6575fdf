"""From events to people: one alert per episode at a site, quiet rules, sensor health, the staff chat.

An event of a watched class (a walker, a vehicle) at a site opens an alert, and events of the same
class there within ``EPISODE_SECONDS`` of the last one extend it: a person walking about for ten
minutes is one alert, not two hundred footsteps. An event whose sensors are muted, or that falls in
their patrol hours, is kept with the reason and raises nothing. Health problems (a sensor silent for
``silent_minutes``, a flat or clipped trace, a clock that jumped) are alerts of their own, one open
per sensor and problem, closed when the sensor is well again. Every new alert queues one ``alert`` job
that sends it to the staff Telegram chat. Events are stored once (a SHA-256 key of site, onset and
stations), so a replayed stream or a rerun adds nothing.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.seismic_tables import SeismicAlert, SeismicEvent, Sensor
from shekteu.db.tables import utcnow
from shekteu.queue.handoffs import seismic_alert_raised
from shekteu.runtime import Runtime
from shekteu.seismic.classify import WATCHED
from shekteu.seismic.detect import Event

EPISODE_SECONDS = 600.0
LOCAL_TIME = ZoneInfo("Asia/Almaty")  # Kazakhstan keeps one time zone, UTC+5, since March 2024
HEALTH = ("silent", "flat", "clipped", "clock")
WORDS = {"footstep": "шаги", "vehicle": "транспорт", "silent": "нет данных", "flat": "нулевая запись",
         "clipped": "перегрузка", "clock": "сбой часов"}  # fmt: skip


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def event_key(site_key: str, event: Event) -> str:
    raw = f"{site_key}|{event.start:.2f}|{','.join(sorted(event.stations))}"
    return hashlib.sha256(raw.encode()).hexdigest()


def quiet_reason(sensors: list[Sensor], when: datetime) -> str | None:
    """Why an event by these sensors raises no alert: all muted, or inside a patrol window of one."""
    if sensors and all(s.muted for s in sensors):
        return "muted"
    local = when.astimezone(LOCAL_TIME).strftime("%H:%M")
    for s in sensors:
        for window in s.quiet_hours or []:
            a, b = window.split("-")
            if (a <= local < b) if a <= b else (local >= a or local < b):
                return f"patrol hours {window} ({s.seed_id})"
    return None


def pack_waveform(traces: dict[str, np.ndarray]) -> bytes:
    """Up to three 100 Hz traces as float16 npz (a few tens of kilobytes), for the dashboard's images."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k.replace(".", "_"): v.astype(np.float16) for k, v in list(traces.items())[:3]})
    return buf.getvalue()


def record_event(session: Session, event: Event, *, site_key: str, site_id: int | None, sensors: list[Sensor],
                 waveform: bytes | None = None, min_score: float = 0.0) -> SeismicEvent | None:  # fmt: skip
    """Store a labelled event and raise or extend its site's alert; None if it was stored before.

    A walker or vehicle scored under ``min_score`` (SHEKTEU_SEISMIC_ALERT_SCORE) is kept, with that
    reason, and raises nothing: on the real Luhu background most false calls score 0.4-0.56."""
    key = event_key(site_key, event)
    if session.scalar(select(SeismicEvent.id).where(SeismicEvent.key == key)):
        return None
    start = _ts(event.start)
    row = SeismicEvent(key=key, site_key=site_key, site_id=site_id, start=start, end=_ts(event.end),
                       stations=list(event.stations), label=event.label or "other", score=float(event.score or 0),
                       waveform=waveform)  # fmt: skip
    if row.label in WATCHED:
        row.quiet = quiet_reason(sensors, start)
        if row.quiet is None and row.score < min_score:
            row.quiet = f"score {row.score:.2f} under the alert score {min_score:.2f}"
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another watcher stored it a moment ago
        return None
    if row.label in WATCHED and row.quiet is None:
        row.alert_id = _raise(session, "activity", f"{site_key}|{row.label}", site_key, site_id, None, row.label,
                              start, row.score, {"stations": row.stations})  # fmt: skip
    return row


def _raise(session: Session, kind: str, subject: str, site_key: str, site_id: int | None, sensor_id: int | None,
           label: str, when: datetime, score: float | None, detail: dict[str, Any]) -> int:  # fmt: skip
    """Extend the open alert of ``subject`` or open one (and queue its staff-chat message)."""
    for _ in range(3):
        alert = session.scalar(select(SeismicAlert).where(SeismicAlert.kind == kind, SeismicAlert.subject == subject,
                                                          SeismicAlert.state == "open").with_for_update())  # fmt: skip
        if alert is not None and when - alert.last_at <= timedelta(seconds=EPISODE_SECONDS):
            alert.last_at = max(alert.last_at, when)
            alert.events += 1
            alert.score = max(alert.score or 0, score or 0)
            return alert.id
        if alert is not None:  # the last episode ended long ago: close it, open a new one
            alert.state = "closed"
        new = SeismicAlert(kind=kind, subject=subject, site_key=site_key, site_id=site_id, sensor_id=sensor_id,
                           label=label, state="open", first_at=when, last_at=when, events=1, score=score,
                           detail=detail)  # fmt: skip
        try:
            with session.begin_nested():
                session.add(new)
                session.flush()
        except IntegrityError:  # a concurrent writer opened it first: extend theirs
            continue
        audit.record(session, f"seismic.alert.{kind}", f"seismic_alert:{new.id}", actor="system:seismic",
                     reason=f"{label} at {site_key}", detail={"score": score, **detail})  # fmt: skip
        seismic_alert_raised(session, new.id)
        return new.id
    raise RuntimeError(f"could not raise the alert {subject}")


def health_problem(session: Session, sensor: Sensor, problem: str, when: datetime, detail: dict[str, Any]) -> int:
    return _raise(session, "health", f"sensor:{sensor.id}|{problem}", sensor.site_key, sensor.site_id, sensor.id,
                  problem, when, None, {"seed_id": sensor.seed_id, **detail})  # fmt: skip


def health_ok(session: Session, sensor: Sensor, problems: tuple[str, ...] = HEALTH) -> int:
    """Close the sensor's open health alerts of ``problems`` (it is sending good data again)."""
    subjects = [f"sensor:{sensor.id}|{p}" for p in problems]
    done = session.execute(update(SeismicAlert).where(SeismicAlert.kind == "health", SeismicAlert.state == "open",
                                                      SeismicAlert.subject.in_(subjects)).values(state="closed"))  # fmt: skip
    return done.rowcount or 0


def check_silent(session: Session, now: datetime, silent_minutes: float) -> list[int]:
    """Open a ``silent`` alert for every installed sensor whose data stopped ``silent_minutes`` ago."""
    cutoff = now - timedelta(minutes=silent_minutes)
    stale = session.scalars(select(Sensor).where(Sensor.removed_on.is_(None), Sensor.last_data_at.is_not(None),
                                                 Sensor.last_data_at < cutoff))  # fmt: skip
    return [health_problem(session, s, "silent", now, {"last_data_at": s.last_data_at.isoformat()})
            for s in list(stale)]  # fmt: skip


def trace_problems(data: np.ndarray, rate: float) -> list[str]:
    """``flat`` (no variation over at least 10 s) or ``clipped`` (1 % or more at the rails)."""
    if len(data) < 10 * rate:
        return []
    x = np.asarray(data)
    if float(np.ptp(x)) == 0.0:
        return ["flat"]
    top = float(np.max(np.abs(x)))
    if top > 0 and np.mean(np.abs(x) >= top) >= 0.01 and len(np.unique(x[:10_000])) > 16:
        return ["clipped"]
    return []


def close_idle(session: Session, now: datetime) -> int:
    """Close activity alerts whose last event is more than an episode ago."""
    cutoff = now - timedelta(seconds=EPISODE_SECONDS)
    done = session.execute(update(SeismicAlert).where(SeismicAlert.kind == "activity", SeismicAlert.state == "open",
                                                      SeismicAlert.last_at < cutoff).values(state="closed"))  # fmt: skip
    return done.rowcount or 0


def message(alert: SeismicAlert) -> str:
    """The staff-chat text (Russian): what, where, when (local time); never a sensor's position."""
    where = f"участок №{alert.site_id}" if alert.site_id else alert.site_key.split(":", 1)[-1]
    when = alert.first_at.astimezone(LOCAL_TIME).strftime("%d.%m %H:%M")
    what = WORDS.get(alert.label, alert.label)
    if alert.kind == "health":
        return f"Датчик {alert.detail.get('seed_id', '')}: {what} — {where}, {when}."
    score = f", уверенность {alert.score:.2f}" if alert.score is not None else ""
    return f"Сейсмодатчики: {what} — {where}, {when}{score}. Тревога №{alert.id}."


def alert_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one alert to the staff chat (the ``alert`` stage); a failed send is retried by the queue."""
    from shekteu.integrations.telegram.outbound import sender

    chat = rt.settings.telegram_staff_chat
    with rt.db.read() as session:
        alert = session.get(SeismicAlert, int(payload["alert"]))
        if alert is None or alert.notified_at is not None:
            return {"sent": 0}
        text = message(alert)
    if chat is None or rt.settings.telegram_token is None:
        return {"sent": 0, "skipped": "no staff chat configured"}
    sender(rt)(str(chat), text)  # DeliveryError → the job fails and is retried with back-off
    with rt.db.write() as session:
        session.execute(update(SeismicAlert).where(SeismicAlert.id == int(payload["alert"]))
                        .values(notified_at=utcnow()))  # fmt: skip
    return {"sent": 1}


def close(session: Session, alert_id: int, *, actor: str, reason: str) -> SeismicAlert:
    """An officer closes an alert (patrol went, nobody there; sensor replaced …); audited."""
    from shekteu.seismic import SeismicError
    from shekteu.users import authorize

    actor = authorize(session, actor, "sensors")
    if not reason.strip():
        raise SeismicError("say why the alert is closed (patrol report, sensor replaced …)")
    alert = session.get(SeismicAlert, alert_id, with_for_update=True)
    if alert is None:
        raise SeismicError(f"no seismic alert {alert_id}")
    if alert.state != "open":
        raise SeismicError(f"alert {alert_id} is already {alert.state}")
    alert.state = "closed"
    audit.record(session, "seismic.alert.close", f"seismic_alert:{alert.id}", actor=actor, reason=reason)
    return alert


def alert_json(a: SeismicAlert) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "label": a.label, "state": a.state, "site_key": a.site_key,
            "site_id": a.site_id, "sensor_id": a.sensor_id, "first_at": a.first_at.isoformat(),
            "last_at": a.last_at.isoformat(), "events": a.events, "score": a.score,
            "notified": a.notified_at is not None}  # fmt: skip


def event_json(e: SeismicEvent) -> dict[str, Any]:
    return {"id": e.id, "site_key": e.site_key, "start": e.start.isoformat(), "end": e.end.isoformat(),
            "duration": round((e.end - e.start).total_seconds(), 2), "stations": e.stations, "label": e.label,
            "score": e.score, "alert_id": e.alert_id, "quiet": e.quiet, "waveform": e.waveform is not None}  # fmt: skip
