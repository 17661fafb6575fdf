"""Plans kept in the database, behind the ``posts`` permission, every write and view audited.

A plan is stored once (its key is a SHA-256 of its content without the creation time), so running the
same plan twice keeps one row and one audit entry of its making; each later view of the positions is
audited again, as for sensor positions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.posts_tables import PostPlan
from shekteu.posts import PostsError
from shekteu.users import authorize


def plan_key(plan: dict[str, Any]) -> str:
    body = json.loads(json.dumps(plan))
    body["shekteu"]["summary"].pop("created", None)
    body["shekteu"]["summary"].pop("seconds", None)
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def save(session: Session, plan: dict[str, Any], *, actor: str, name: str = "") -> tuple[PostPlan, bool]:
    """(the stored plan, whether it was new)."""
    actor = authorize(session, actor, "posts")
    key = plan_key(plan)
    known = session.scalar(select(PostPlan).where(PostPlan.key == key))
    if known is not None:
        return known, False
    s = plan["shekteu"]["summary"]
    row = PostPlan(key=key, name=name or f"{s['k']} posts", k=s["k"], method=s["method"], model=s["model"],
                   intercepted_share=s["intercepted_share"], gap=s["gap"], summary=s, plan=plan, created_by=actor)  # fmt: skip
    try:
        with session.begin_nested():  # two planners storing the same plan at once: the second finds the first's
            session.add(row)
            session.flush()
    except IntegrityError:
        return session.scalars(select(PostPlan).where(PostPlan.key == key)).one(), False
    audit.record(session, "posts.plan", f"post_plan:{row.id}", actor=actor, reason="checkpoint plan made",
                 detail={"k": row.k, "method": row.method, "intercepted_share": row.intercepted_share})  # fmt: skip
    return row, True


def listing(session: Session, *, actor: str, limit: int = 50) -> list[PostPlan]:
    authorize(session, actor, "posts")
    return list(session.scalars(select(PostPlan).order_by(PostPlan.id.desc()).limit(limit)))


def get(session: Session, plan_id: int | None, *, actor: str, why: str = "plan viewed") -> PostPlan:
    """One plan (the newest when ``plan_id`` is None), its viewing audited."""
    actor = authorize(session, actor, "posts")
    if plan_id is None:
        row = session.scalar(select(PostPlan).order_by(PostPlan.id.desc()).limit(1))
        if row is None:
            raise PostsError("no checkpoint plan yet: make one with `shekteu posts plan`")
    else:
        row = session.get(PostPlan, plan_id)
        if row is None:
            raise PostsError(f"no checkpoint plan with id {plan_id}")
    audit.record(session, "posts.view", f"post_plan:{row.id}", actor=actor, reason=why, detail={"k": row.k})
    return row


def as_json(row: PostPlan) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "k": row.k, "method": row.method, "model": row.model,
            "intercepted_share": row.intercepted_share, "gap": row.gap, "created_by": row.created_by,
            "created_at": row.created_at.isoformat()}  # fmt: skip
