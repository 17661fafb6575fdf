"""Criminal cases opened on shops: the registration number a prosecutor gives the case (ЕРДР in
Kazakhstan), tied to the shop whose dossier it rests on. The last step of the outcome funnel."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Case, utcnow
from shekteu.shops.edit import ShopError, get_shop
from shekteu.users import permit

_NUMBER = re.compile(r"[\w./№-]{3,64}")


def open_case(
    session: Session, shop_id: int, number: str, *, actor: str, reason: str, note: str = ""
) -> Case:
    user = permit(session, actor, "case.open")
    shop = get_shop(session, shop_id)
    number = number.strip()
    if not _NUMBER.fullmatch(number):
        raise ShopError(f"bad case number {number[:70]!r}: 3-64 letters, digits, '.', '/', '-', '№'")
    if not reason.strip():
        raise ShopError("opening a case needs a reason")
    if session.scalar(select(Case).where(Case.number == number)):
        raise ShopError(f"case {number} is already recorded")
    case = Case(
        shop_id=shop.id,
        number=number,
        opened_by=user.name,
        opened_at=utcnow(),
        note=note.strip()[:2000] or None,
    )
    session.add(case)
    session.flush()
    audit.record(
        session, "case.open", f"shop:{shop.id}", actor=user.name, reason=reason, detail={"case": number}
    )
    return case


def shop_cases(session: Session, shop_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(Case).where(Case.shop_id == shop_id).order_by(Case.id))
    return [{"id": c.id, "number": c.number, "opened_by": c.opened_by, "opened_at": c.opened_at.isoformat(),
             "note": c.note} for c in rows]  # fmt: skip
