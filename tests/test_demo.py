"""`shekteu demo`: a living platform from one command — and every dashboard page rendered with it shows
values in the user's language: no Python repr, no raw JSON escape, no untranslated state."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from shekteu.accounts import check_password
from shekteu.db.tables import Spot, Takedown
from shekteu.runtime import Runtime
from shekteu.settings import load_settings
from shekteu.takedown.lifecycle import STATES
from tests.dashboard import Dash, serve, walk
from tests.test_cli import lines, run

REPRS = re.compile(r"built-in method|bound method|object at 0x|&lt;function |<function |\bdict_items\(|\bNone\b</")
ESCAPES = re.compile(r"\\u04[0-9a-f]{2}")
# State words that must not reach a Russian page in English (they are shown as words, not codes)
ENGLISH_STATES = re.compile(r">\s*(proposed|approved|sent|blocked|verified|rejected|reappeared|suspected|confirmed|"
                            r"destroyed|dismissed|reported|painted)\s*<")  # fmt: skip


def test_the_demo_loads_once_and_its_people_can_sign_in(env: dict[str, str], tmp_path: Path) -> None:
    first = run(env, "demo", "--json")
    assert first.returncode == 0, first.stderr
    summary = lines(first.stdout)[0]
    assert summary["loaded"] is True and len(summary["users"]) == 5
    assert summary["counts"]["posts"] >= 10 and summary["counts"]["tips"] >= 5 and summary["counts"]["takedowns"] == 7
    rt = Runtime(load_settings(env))
    try:
        with rt.db.read() as s:
            for name, password in summary["users"].items():
                assert check_password(s, name, password) is not None, name
            states = set(s.scalars(select(Takedown.state)))
            assert states == set(STATES), states  # every state once
            spots = list(s.scalars(select(Spot)))
            assert len(spots) >= 3
    finally:
        rt.close()
    again = run(env, "demo", "--json")
    assert again.returncode == 0 and lines(again.stdout)[0]["loaded"] is False
    said = run(env, "demo")
    assert "already" in said.stdout


def test_every_page_renders_the_demo_in_russian_without_leaks(make_runtime) -> None:
    from shekteu.demo.load import load

    rt = make_runtime()
    summary = load(rt)
    for base in serve(rt):
        admin = Dash(rt, base, "").login("demo-admin", summary.users["demo-admin"])
        admin.headers["Accept-Language"] = "ru"

        def check(path: str, html: str) -> None:
            # The audit log quotes what was recorded (its details are the record itself): states stay codes.
            for pattern in (REPRS, ESCAPES) + (() if path.startswith("/dash/audit") else (ENGLISH_STATES,)):
                found = pattern.search(html)
                assert found is None, (path, html[max(0, found.start() - 200) : found.end() + 50])

        seen = walk(admin, check, limit=120)
        assert len(seen) >= 15, seen
        assert {p for p in seen if p.startswith("/dash/shops/")} and {p for p in seen if p.startswith("/dash/tips/")}
