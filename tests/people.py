"""Users for tests that change states through the library: every state change checks its actor
(issue 25), so the names the tests act as must be real users with the right roles."""

from __future__ import annotations

from sqlalchemy import select

from shekteu.db.tables import User
from shekteu.runtime import Runtime
from shekteu.users import add_user

STAFF = {
    "aliya": ["analyst", "coordinator"], "bolat": ["approver"], "coord": ["coordinator"],
    "volunteer": ["coordinator"], "analyst": ["analyst"], "bob": ["analyst"], "cora": ["coordinator"],
}  # fmt: skip


def make_staff(rt: Runtime) -> None:
    with rt.db.write() as s:
        have = set(s.scalars(select(User.name)))
        for name, roles in STAFF.items():
            if name not in have:
                add_user(s, name, roles, actor="test")
