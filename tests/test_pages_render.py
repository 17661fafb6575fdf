"""Every dashboard page, rendered with data, shows values — never a Python repr (issue 25)."""

from __future__ import annotations

import re
from collections import deque

from tests.dashboard import Dash, dash

__all__ = ["dash"]

REPRS = re.compile(r"built-in method|bound method|object at 0x|&lt;function |<function |\bdict_items\(|\bNone\b</")


def test_no_page_shows_a_python_repr(dash: Dash) -> None:
    admin = dash.login("adm")
    seen, queue, pages = set(), deque(["/dash"]), 0
    while queue and pages < 80:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        reply = admin.get(path)
        if reply.status_code != 200 or "text/html" not in reply.headers.get("content-type", ""):
            continue
        pages += 1
        found = REPRS.search(reply.text)
        assert found is None, (path, reply.text[max(0, found.start() - 200) : found.end() + 50])
        for link in re.findall(r'href="(/dash[^"#?]*)', reply.text):
            if not link.endswith((".csv", ".zip", ".pdf", ".geojson", ".kml")) and "dossier" not in link:
                queue.append(link)
    assert pages >= 8 and any(p.startswith("/dash/shops/") for p in seen), seen
