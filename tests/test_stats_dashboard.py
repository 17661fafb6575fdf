"""Operation statistics on the dashboard (issue 23): the comparison page, contradictions, the
choropleth and the report downloads, with hostile source names escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path

from shekteu.runtime import Runtime
from tests.dashboard import Dash
from tests.dashboard import dash as dash

DATA = Path(__file__).parent / "data" / "stats"


def install(rt: Runtime) -> None:
    from shekteu.stats.store import add_release

    texts = [json.loads(x) for x in (DATA / "texts_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    with rt.db.write() as s:
        for t in texts:
            add_release(s, t | ({"outlet": "<b>Outlet</b>"} if t["id"] == "kzs-057" else {}), actor="cli:test")


def test_the_statistics_page_compares_and_flags(dash: Dash) -> None:
    install(dash.rt)
    cora = dash.login("cora")  # every role may read the figures
    page = cora.get("/dash/stats", params={"measure": "drug_offences", "by": "region"}, headers={"Accept-Language": "ru"})
    assert page.status_code == 200 and "Оперативная статистика" in page.text
    assert "Туркестанская" in page.text and "источники расходятся" in page.text  # 629 vs 673 for one region
    assert "629, 673 — в 2 документах" in page.text and "documents" not in page.text  # said in the reader's language
    assert "<b>Outlet</b>" not in page.text and "&lt;b&gt;Outlet&lt;/b&gt;" in page.text
    years = cora.get("/dash/stats", params={"measure": "seized", "substance": "drugs_total"})
    assert years.status_code == 200 and "<rect" in years.text
    from PIL import Image

    png = cora.get("/dash/stats/map.png", params={"measure": "seized", "substance": "drugs_total"})
    img = Image.open(io.BytesIO(png.content))
    assert png.status_code == 200 and img.width == 1400 and len(img.getcolors(1 << 20) or []) > 3
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK"), ("csv", b"measure,")):
        r = cora.get(f"/dash/stats/report.{fmt}", params={"period": "2025"})
        assert r.status_code == 200 and r.content.startswith(magic), fmt
    assert cora.get("/dash/stats/report.pdf", params={"period": '2025"\r\nX: y'}).status_code == 422
    api = cora.get("/api/stats/compare", params={"measure": "labs_liquidated"}).json()
    assert api["rows"] and any(c["kind"] == "headline_vs_body" for c in api["contradictions"])
    assert cora.get("/api/stats/compare", params={"measure": "nonsense"}).status_code == 422
