"""Analysts in the loop: corrections of verdicts, the disputed queue, and the review queue (issue 21).

The detector is trained on a few dozen real ads; the analysts who read its verdicts every day see
far more. Each verdict they mark right or wrong is stored with who, when and why (and audited), the
newest word per item counts, and ``shekteu model train --feedback`` learns from them. Two queues
point analysts at the verdicts worth their time: **disputed** (an analyst said the current verdict
is wrong) and **review** (verdicts a label would teach the model most: scores near the threshold,
channels no analyst has looked at yet, words the dictionary has never seen near drug terms).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.ops_tables import VerdictCorrection
from shekteu.db.tables import Item, Verdict
from shekteu.detect.model import LABELS, POSITIVE, Detector
from shekteu.users import authorize

REVIEW_POOL = 5000  # newest uncertain verdicts considered for the review queue


class FeedbackError(ValueError):
    """An unknown item or label, named in the message."""


@dataclass(frozen=True)
class Judged:
    item_id: int
    text: str
    label: str  # what the analyst says it is
    predicted: str | None
    score: float | None
    model_version: str | None
    actor: str
    reason: str | None
    at: str
    channel: str | None

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item_id, "label": self.label, "predicted": self.predicted, "score": self.score,
                "model": self.model_version, "by": self.actor, "reason": self.reason, "at": self.at,
                "channel": self.channel, "text": self.text[:500]}  # fmt: skip


def _current(session: Session, item: Item, version: str | None) -> Verdict | None:
    """The item's verdict on its current text: by ``version`` if given and present, else the newest."""
    query = select(Verdict).where(Verdict.item_id == item.id, Verdict.text_sha256 == item.text_sha256)
    if version:
        found = session.scalars(query.where(Verdict.model_version == version).order_by(Verdict.id.desc())).first()
        if found:
            return found
    return session.scalars(query.order_by(Verdict.id.desc())).first()


def correct(session: Session, item_id: int, label: str, *, actor: str, reason: str | None = None,
            version: str | None = None) -> VerdictCorrection:  # fmt: skip
    """Record that ``item_id`` is ``label`` (right or wrong, the verdict it judged is kept with it)."""
    if label not in LABELS:
        raise FeedbackError(f"unknown label {label!r}; labels are {', '.join(LABELS)}")
    actor = authorize(session, actor, "verdict.correct")
    item = session.get(Item, item_id)
    if item is None:
        raise FeedbackError(f"no item {item_id}")
    verdict = _current(session, item, version)
    row = VerdictCorrection(item_id=item.id, text_sha256=item.text_sha256, label=label, actor=actor, reason=reason,
                            model_version=verdict.model_version if verdict else None,
                            predicted=verdict.label if verdict else None)  # fmt: skip
    session.add(row)
    session.flush()
    agrees = verdict is not None and (verdict.label in POSITIVE) == (label in POSITIVE)
    audit.record(session, "verdict.correct", f"item:{item.id}", actor=actor, reason=reason,
                 detail={"label": label, "predicted": row.predicted, "model": row.model_version,
                         "agrees": agrees})  # fmt: skip
    return row


def _latest_corrections(session: Session) -> list[VerdictCorrection]:
    newest = select(func.max(VerdictCorrection.id)).group_by(VerdictCorrection.item_id)
    return list(session.scalars(select(VerdictCorrection).where(VerdictCorrection.id.in_(newest))
                                .order_by(VerdictCorrection.id.desc())))  # fmt: skip


def judged(session: Session, version: str | None = None, *, disputed: bool = False) -> list[Judged]:
    """Every item an analyst judged (newest word each), with the current verdict; ``disputed``: only
    those where the analyst's label and the verdict fall on different sides (sale/recruit or not)."""
    latest = _latest_corrections(session)
    ids = [c.item_id for c in latest]
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(ids)))} if ids else {}
    verdicts: dict[int, Verdict] = {}
    if ids:  # per item, the newest verdict on its current text, by ``version`` where there is one
        rows = session.scalars(select(Verdict).join(Item, Item.id == Verdict.item_id)
                               .where(Verdict.item_id.in_(ids), Verdict.text_sha256 == Item.text_sha256)
                               .order_by(Verdict.id))  # fmt: skip
        for v in rows:
            held = verdicts.get(v.item_id)
            if held is None or not version or v.model_version == version or held.model_version != version:
                verdicts[v.item_id] = v
    out = []
    for c in latest:
        item = items.get(c.item_id)
        if item is None or item.text_sha256 != c.text_sha256:
            continue  # the text changed since: the word was about another text
        verdict = verdicts.get(item.id)
        predicted = verdict.label if verdict else c.predicted
        if disputed and predicted is not None and (predicted in POSITIVE) == (c.label in POSITIVE):
            continue
        out.append(Judged(item.id, item.text, c.label, predicted, verdict.score if verdict else None,
                          verdict.model_version if verdict else c.model_version, c.actor, c.reason,
                          c.created_at.isoformat(), item.channel))  # fmt: skip
    return out


def training_rows(session: Session) -> list[tuple[str, str, str]]:
    """(item id, text, label) of every judged item, for ``model train --feedback``."""
    return [(f"item-{j.item_id}", j.text, j.label) for j in judged(session)]


def review_queue(session: Session, detector: Detector, *, limit: int = 50) -> list[dict[str, Any]]:
    """Unjudged verdicts by ``detector`` that a label would teach most, best first.

    Priority = closeness to the threshold (1 at score 0.5, 0 at 0 or 1), plus 0.3 when no item of the
    channel has been judged yet (a new channel, perhaps a new style), plus 0.2 when the text has words
    the dictionary lacks next to a drug or stash term (perhaps new slang)."""
    judged_items = set(session.scalars(select(VerdictCorrection.item_id)))
    judged_channels = {c for c in session.scalars(select(Item.channel).join(
        VerdictCorrection, VerdictCorrection.item_id == Item.id)) if c}  # fmt: skip
    rows = session.execute(
        select(Verdict, Item).join(Item, Item.id == Verdict.item_id)
        .where(Verdict.model_version == detector.version, Verdict.text_sha256 == Item.text_sha256,
               Verdict.score > 0.05, Verdict.score < 0.95)
        .order_by(Verdict.id.desc()).limit(REVIEW_POOL)
    ).all()  # fmt: skip
    from shekteu.detect.drift import new_words as find_new_words

    rows = [(v, i) for v, i in rows if i.id not in judged_items]
    out = []
    for (verdict, item), new_words in zip(rows, find_new_words(detector, [i.text for _, i in rows]), strict=True):
        new_channel = bool(item.channel) and item.channel not in judged_channels
        priority = 1 - abs(verdict.score - 0.5) * 2 + 0.3 * new_channel + 0.2 * bool(new_words)
        reasons = ["near the threshold"] if abs(verdict.score - 0.5) < 0.25 else []
        reasons += ["new channel"] * new_channel + ([f"new words: {', '.join(new_words[:3])}"] if new_words else [])
        out.append({"item": item.id, "label": verdict.label, "score": verdict.score, "channel": item.channel,
                    "priority": round(priority, 3), "why": reasons, "text": item.text[:500]})  # fmt: skip
    out.sort(key=lambda r: (-r["priority"], -r["item"]))
    return out[:limit]


def counts(session: Session) -> dict[str, int]:
    """How many items were judged, and how many of those the analysts called sale/recruit."""
    latest = _latest_corrections(session)
    by_side = Counter(c.label in POSITIVE for c in latest)
    return {"judged": len(latest), "positive": by_side[True], "negative": by_side[False]}
