"""Re-check sent and blocked targets until the block is verified, and notice when a shop comes back.

Each check is a capture (WARC + SHA-256), so the decision rests on evidence the takedown's history
points to. A target is judged:
- ``blocked``: HTTP 451, or a known blocking stub (the regulator's page, Telegram's "can't be
  displayed" notice) — the block is in force;
- ``gone``: 404/410, a Telegram name that no longer exists, or a page that still answers but no
  longer sells (the detector finds no drug sale) — the server itself says the content is not there;
- ``live``: still selling;
- ``unknown``: everything that proves nothing — a resolver, connect or timeout error (ours or
  theirs: a control fetch of ``SHEKTEU_RECHECK_CONTROL_URL`` says which, in the reason), a server
  error, a refused fetch.
A sent target found blocked or gone becomes ``blocked``. A blocked one becomes ``verified`` only
after ``SHEKTEU_RECHECK_VERIFY_CHECKS`` agreeing checks (blocked or gone, counting the one that
blocked it) spread over at least ``SHEKTEU_RECHECK_VERIFY_HOURS``; only then do the reporters of
its shop hear that it was blocked. A blocked or verified one found live again, or whose shop shows up
at a new address after the block, becomes ``reappeared``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shekteu import audit
from shekteu.capture.fetch import Fetcher
from shekteu.capture.web import capture_url
from shekteu.db.tables import AuditEntry, Indicator, ShopIndicator, Takedown, TakedownEvent, utcnow
from shekteu.runtime import Runtime
from shekteu.takedown.lifecycle import mark

CHECKABLE = ("url", "domain", "telegram_channel", "telegram_bot", "telegram_account")
ACTOR = "system:recheck"
AGREEING = ("blocked", "gone")
SIGNATURES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"доступ к (данному |этому |запрашиваемому )?(интернет-)?ресурсу (был )?ограничен",
        r"(ресурс|сайт|страница) заблокирован",
        r"заблокирован(о)? (по решению|на основании|в соответствии)",
        r"ресурсқа қолжетімділік шектелген",
        r"қолжетімділік шектелді",
        r"access to (this|the requested) (resource|site|page) (is|has been) (restricted|blocked)",
        r"blocked (by|on) (the )?(decision|order|request) of",
        r"this (channel|bot|group|account) can['’]t be displayed",
        r"violated (local laws|telegram['’]s terms of service)",
    )
)
_TG_EXISTS = re.compile(r"tgme_page_title|tgme_channel_info|tgme_widget_message", re.IGNORECASE)
# Indicator types that count as a new address of the same kind as the target.
NEW_ADDRESS = {
    "url": ("domain", "onion"),
    "domain": ("domain", "onion"),
    "telegram_channel": ("telegram_username", "telegram_invite"),
    "telegram_bot": ("telegram_bot",),
    "telegram_account": ("telegram_username",),
}


@dataclass
class CheckResult:
    takedown_id: int
    target: str
    verdict: str  # live | blocked | gone | unknown
    why: str
    capture_id: int | None
    state_before: str
    state_after: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_url(rt: Runtime, td: Takedown) -> str:
    base = rt.settings.telegram_web_base.rstrip("/")
    name = td.target.lstrip("@")
    return {
        "url": td.target,
        "domain": f"http://{td.target}/",
        "telegram_channel": f"{base}/s/{name}",
        "telegram_bot": f"{base}/{name}",
        "telegram_account": f"{base}/{name}",
    }[td.target_type]


def judge(
    rt: Runtime,
    td: Takedown,
    status: int | None,
    error: str | None,
    refused: bool,
    body: str,
    text: str,
    title: str | None,
) -> tuple[str, str]:
    """(verdict, why) for one fetch of the target; see the module docstring."""
    if refused:
        return "unknown", f"fetch refused: {error}"
    if status == 451:
        return "blocked", "HTTP 451 Unavailable For Legal Reasons"
    visible = " ".join(filter(None, [title, text, html.unescape(re.sub(r"<[^>]+>", " ", body[:200_000]))]))
    for signature in SIGNATURES:
        m = signature.search(visible)
        if m:
            return "blocked", f"blocking notice: {m.group(0)!r}"
    if status is None:  # no answer at all: our network or theirs, it proves no block
        return "unknown", f"no answer: {error}"
    if status in (404, 410):
        return "gone", f"HTTP {status}"
    if status >= 500 or (status >= 400 and status != 403):
        return "unknown", f"HTTP {status}"
    if status == 403:
        return "unknown", "HTTP 403 (not a known blocking page)"
    if td.target_type.startswith("telegram_"):
        return (
            ("live", "the Telegram page shows the name")
            if _TG_EXISTS.search(body)
            else ("gone", "Telegram shows no such channel or account")
        )
    verdict = rt.detector.classify([text[:200_000]])[0]
    if verdict.label in ("sale", "recruit"):
        return "live", f"still selling (detector: {verdict.label} {verdict.score:.2f})"
    return "gone", f"content removed (detector: {verdict.label} {verdict.score:.2f})"


def _new_address(session: Any, td: Takedown) -> str | None:
    """An address of the target's kind that joined its shop after the block, if any."""
    if td.shop_id is None or td.blocked_at is None or td.target_type not in NEW_ADDRESS:
        return None
    reported = {
        (e.detail or {}).get("new_address")
        for e in session.scalars(select(TakedownEvent).where(TakedownEvent.takedown_id == td.id))
    }
    rows = session.execute(
        select(Indicator.type, Indicator.normalized)
        .join(ShopIndicator, ShopIndicator.indicator_id == Indicator.id)
        .where(
            ShopIndicator.shop_id == td.shop_id,
            ShopIndicator.added_at > td.blocked_at,
            Indicator.type.in_(NEW_ADDRESS[td.target_type]),
            Indicator.normalized != td.target,
        )
        .order_by(ShopIndicator.added_at)
    )
    return next((f"{t}:{v}" for t, v in rows if f"{t}:{v}" not in reported), None)


def _agreeing_checks(session: Any, td: Takedown) -> int:
    """Checks since the block that found it blocked or gone: the one that blocked it and the ones
    recorded after it (an unknown one neither counts nor resets; a live one reopens the takedown)."""
    checks = session.scalars(
        select(AuditEntry.detail).where(AuditEntry.target == f"takedown:{td.id}", AuditEntry.actor == ACTOR,
                                        AuditEntry.at >= td.blocked_at)
    )  # fmt: skip
    return sum(1 for d in checks if (d or {}).get("check") in AGREEING)


def _next_state(rt: Runtime, session: Any, td: Takedown, verdict: str) -> str | None:
    if verdict in AGREEING:
        if td.state in ("sent", "reappeared"):
            return "blocked"
        if td.state == "blocked" and td.blocked_at is not None:
            s = rt.settings
            enough = _agreeing_checks(session, td) + 1 >= s.recheck_verify_checks
            waited = (utcnow() - td.blocked_at).total_seconds() >= s.recheck_verify_hours * 3600
            return "verified" if enough and waited else None
        return None
    if verdict == "live" and td.state in ("blocked", "verified"):
        return "reappeared"
    return None


def _control(rt: Runtime, fetcher: Fetcher) -> str:
    """Whether our own network works, for the reason of a check whose target did not answer."""
    result = fetcher.fetch(rt.settings.recheck_control_url)
    return ("our network works (control fetch answered): the target itself did not answer"
            if result.has_response else f"our own network failed too (control fetch: {result.error})")  # fmt: skip


def recheck(
    rt: Runtime,
    *,
    takedown_ids: list[int] | None = None,
    on_done: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Check every sent, blocked, verified or reappeared target (or the given ones)."""
    with rt.db.read() as session:
        query = select(Takedown).where(Takedown.state.in_(("sent", "blocked", "verified", "reappeared")))
        if takedown_ids:
            query = select(Takedown).where(Takedown.id.in_(takedown_ids))
        targets = list(session.scalars(query.order_by(Takedown.id)))
    results = []
    fetcher = Fetcher(rt.settings)
    try:
        for td in targets:
            results.append(_check_one(rt, fetcher, td))
            if on_done:
                on_done(results[-1])
    finally:
        fetcher.close()
    return results


def _check_one(rt: Runtime, fetcher: Fetcher, td: Takedown) -> CheckResult:
    before = td.state
    if td.target_type not in CHECKABLE:
        verdict, why, capture_id = (
            "unknown",
            f"a {td.target_type} cannot be checked from outside; mark it by hand",
            None,
        )
    else:
        outcome, prepared = capture_url(rt, fetcher, check_url(rt, td), make_item=False)
        body = prepared.result.body.decode("utf-8", "replace")
        verdict, why = judge(
            rt,
            td,
            outcome.status,
            outcome.error,
            outcome.refused,
            body,
            prepared.page.text or "",
            outcome.title,
        )
        capture_id = outcome.id
        if outcome.status is None and not outcome.refused:
            why = f"{why}; {_control(rt, fetcher)}"
    with rt.db.write() as session:
        current = session.get(Takedown, td.id)
        assert current is not None
        current.checked_at, current.check_result = utcnow(), verdict
        captures = [capture_id] if capture_id else []
        to = _next_state(rt, session, current, verdict)
        moved = False
        if to:
            mark(
                session,
                current.id,
                to,
                actor=ACTOR,
                reason=f"re-check: {why}",
                captures=captures,
                detail={"check": verdict},
                system=True,
            )
            moved = True
        if current.state in ("blocked", "verified"):
            address = _new_address(session, current)
            if address:
                mark(
                    session,
                    current.id,
                    "reappeared",
                    actor=ACTOR,
                    system=True,
                    captures=captures,
                    reason=f"the shop appeared at a new address after the block: {address}",
                    detail={"new_address": address},
                )
                moved = True
        if not moved:
            audit.record(
                session,
                "takedown.check",
                f"takedown:{current.id}",
                actor=ACTOR,
                reason=why,
                detail={"check": verdict, "captures": captures},
            )
        after = current.state
    return CheckResult(td.id, td.target, verdict, why, capture_id, before, after)


def recheck_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The periodic ``recheck`` stage (every ``SHEKTEU_RECHECK_EVERY_HOURS``): check every open
    takedown target, moving those the checks decide."""
    results = recheck(rt, takedown_ids=[int(i) for i in payload.get("takedowns", [])] or None)
    return {"checked": len(results), "moved": sum(1 for r in results if r.state_before != r.state_after)}
