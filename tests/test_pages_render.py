"""Every dashboard page, rendered with data, shows values — never a Python repr (issue 25)."""

from __future__ import annotations

import re

from tests.dashboard import Dash, dash, walk

__all__ = ["dash"]

REPRS = re.compile(r"built-in method|bound method|object at 0x|&lt;function |<function |\bdict_items\(|\bNone\b</")


def test_no_page_shows_a_python_repr(dash: Dash) -> None:
    def check(path: str, html: str) -> None:
        found = REPRS.search(html)
        assert found is None, (path, html[max(0, found.start() - 200) : found.end() + 50])

    seen = walk(dash.login("adm"), check)
    assert len(seen) >= 8 and any(p.startswith("/dash/shops/") for p in seen), seen
