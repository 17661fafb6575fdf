"""Drift: when the slang moved and the model stopped keeping up (``shekteu model drift``, issue 21).

Shops rename their products every few months. A model cannot say what it does not know, but three
weekly figures show it: the share of items it calls sale/recruit (a sudden drop can be new wording,
not fewer shops), words it never saw in training standing next to drug and stash terms (the new
names themselves), and how many of its verdicts analysts disputed that week.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu.db.ops_tables import VerdictCorrection
from shekteu.db.tables import Item, Verdict, utcnow
from shekteu.detect.model import POSITIVE, Detector
from shekteu.detect.normalize import normalize_many

NEAR = 3  # words either side of a drug or stash term
ANCHORS = ("drug", "stash", "stash_worker", "narco", "shop")
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset("""и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне
было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж
вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз
тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас
были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про всего них
какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно
всю между the and for you with this that are from your our all also""".split())  # fmt: skip


def new_words(detector: Detector, texts: list[str]) -> list[list[str]]:
    """Per text, words the model never saw in training within a few words of a drug or stash term."""
    if not detector.vocabulary:
        return [[] for _ in texts]
    normalized = normalize_many(texts)
    feats = detector.features(normalized)
    anchors: dict[int, list[tuple[int, int]]] = defaultdict(list)
    wanted = {i for i, c in enumerate(detector.lexicon.concepts) if c in ANCHORS}
    for doc, concept, start, end in feats.concept_hits:
        if concept in wanted:
            anchors[doc].append((start, end))
    out: list[list[str]] = [[] for _ in texts]
    for doc, spans in anchors.items():
        words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(normalized[doc].text)]
        at = [i for i, (_, s, e) in enumerate(words) if any(s < b and a < e for a, b in spans)]
        seen: list[str] = []
        for i in at:
            for word, s, e in words[max(0, i - NEAR) : i + NEAR + 1]:
                if (word not in detector.vocabulary and word not in _STOP and word not in seen
                        and not any(s < b and a < e for a, b in spans)):  # fmt: skip
                    seen.append(word)
        out[doc] = seen
    return out


def report(session: Session, detector: Detector, *, weeks: int = 8, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per ISO week, newest first: items scored by ``detector``, positive share, new words, disputes."""
    now = now or utcnow()
    since = now - timedelta(weeks=weeks)
    rows = session.execute(
        select(Item.id, Item.text, Item.published_at, Item.first_seen_at, Verdict.label)
        .join(Verdict, (Verdict.item_id == Item.id) & (Verdict.text_sha256 == Item.text_sha256))
        .where(Verdict.model_version == detector.version, Item.first_seen_at >= since)
    ).all()  # fmt: skip
    weekly: dict[str, dict[str, Any]] = {}

    def week(at: datetime) -> dict[str, Any]:
        year, number, _ = at.isocalendar()
        key = f"{year}-W{number:02d}"
        return weekly.setdefault(key, {"week": key, "items": 0, "positive": 0, "new_words": Counter(), "disputed": 0,
                                       "judged": 0})  # fmt: skip

    texts = [r.text for r in rows]
    found = new_words(detector, texts) if texts else []
    label_of = {}
    for row, words in zip(rows, found, strict=True):
        w = week(row.published_at or row.first_seen_at)
        w["items"] += 1
        w["positive"] += row.label in POSITIVE
        w["new_words"].update(words)
        label_of[row.id] = row.label
    for c in session.scalars(select(VerdictCorrection).where(VerdictCorrection.created_at >= since)):
        w = week(c.created_at)
        w["judged"] += 1
        predicted = label_of.get(c.item_id, c.predicted)
        w["disputed"] += predicted is not None and (predicted in POSITIVE) != (c.label in POSITIVE)
    out = []
    for key in sorted(weekly, reverse=True):
        w = weekly[key]
        out.append({"week": key, "items": w["items"], "positive": w["positive"],
                    "positive_share": round(w["positive"] / w["items"], 4) if w["items"] else None,
                    "new_words": len(w["new_words"]), "top_new_words": [x for x, _ in w["new_words"].most_common(8)],
                    "judged": w["judged"], "disputed": w["disputed"]})  # fmt: skip
    return out
