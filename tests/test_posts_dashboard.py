"""Checkpoint plans on the dashboard (issue 26): only the drug unit sees post positions, every viewing
is audited, the roster and the brief download, hostile names are escaped (the map in a real Chromium
is in test_browser.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

pytest.importorskip("shapely")

from shekteu.db.tables import AuditEntry
from shekteu.posts import flows, plan, roads, store, synth
from shekteu.runtime import Runtime
from tests.dashboard import Dash
from tests.dashboard import dash as dash


def install(rt: Runtime, tmp_path) -> int:  # type: ignore[no-untyped-def]
    """A two-town network with a bridge named with markup; the stored plan's id."""
    from tests.test_posts import two_towns

    road, src, dst = two_towns(tmp_path)
    feats = synth.write(tmp_path / "roads2.geojson", [
        {**f, "properties": {**f["properties"], "name": "<b>мост</b>"}} if f["properties"].get("name") == "мост" else f
        for f in json.loads(road.read_text())["features"]])  # fmt: skip
    net = roads.load(feats)
    result = plan.make(net, flows.read_places(src, kind="source"),
                       flows.outlets(net) + flows.read_places(dst, kind="settlement"), plan.Options(k=2))  # fmt: skip
    with rt.db.write() as s:
        row, _new = store.save(s, result, actor="cli:test", name="учения <script>")
        return row.id


def test_posts_are_for_analysts_and_every_viewing_is_audited(dash: Dash, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan_id = install(dash.rt, tmp_path)
    ann, cora = dash.login("ann"), dash.login("cora")
    assert "/dash/posts" in ann.get("/dash").text
    assert "/dash/posts" not in cora.get("/dash").text
    for path in ("/dash/posts", f"/api/posts/plans/{plan_id}", "/api/posts/plans", f"/dash/posts/{plan_id}/roster.csv",
                 f"/dash/posts/{plan_id}/brief.pdf"):  # fmt: skip
        assert cora.get(path).status_code == 403, path
    page = ann.get("/dash/posts", headers={"Accept-Language": "ru"})
    assert page.status_code == 200 and "Планы мобильных постов" in page.text
    assert "<b>мост</b>" not in page.text and "&lt;b&gt;мост&lt;/b&gt;" in page.text
    assert "<script>" not in page.text.split("<body", 1)[1].replace("<script src=", "")
    data = ann.get(f"/api/posts/plans/{plan_id}").json()
    posts = [f for f in data["features"] if f["properties"]["kind"] == "post"]
    assert len(posts) == 2 and data["summary"]["intercepted_share"] == pytest.approx(1.0)
    assert "rota" not in data  # the mixed strategy stays on the server
    assert ann.get("/api/posts/plans/latest").json()["id"] == plan_id
    assert ann.get("/api/posts/plans/999").status_code == 404
    roster = ann.get(f"/dash/posts/{plan_id}/roster.csv", params={"days": 3, "seed": 1})
    rows = list(csv.DictReader(io.StringIO(roster.text)))
    assert roster.status_code == 200 and len(rows) == 3 * 2 * 2
    pdf = ann.get(f"/dash/posts/{plan_id}/brief.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with dash.rt.db.read() as s:
        views = list(s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "posts.view")))
        rosters = list(s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "posts.roster")))
    assert len(views) >= 5 and set(views) == {"ann"} and rosters == ["ann"]
