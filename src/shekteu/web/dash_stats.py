"""Operation statistics on the dashboard (issue 23): one measure year on year or by region with every
source, the contradictions among them, a choropleth by oblast drawn on the server, and the report
downloads (PDF in the reader's language, CSV, XLSX). Every signed-in role may read figures.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.web.auth import Viewer
from shekteu.web.common import runtime
from shekteu.web.pages import language, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/stats", tags=["operation statistics"])
Measure = Annotated[str, Query(min_length=2, max_length=64, pattern=r"^[a-z_]+$")]
Substance = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_+\-]+$")]
PERIOD = r"^\d{4}(-\d{2})?(-\d{2}/\d{4}-\d{2}-\d{2})?$"
Period = Annotated[str | None, Query(max_length=21, pattern=PERIOD)]
By = Annotated[str, Query(pattern="^(year|region)$")]


def _figures(rt: Runtime, measure: str | None, substance: str | None, period: str | None) -> list[dict[str, Any]]:
    from shekteu.stats.extract import measures
    from shekteu.stats.store import figure_json, figures_of, period_bounds

    if measure and measure not in measures():
        raise HTTPException(422, f"unknown measure {measure!r}")
    start, end = period_bounds(period) if period else (None, None)
    if period and not start:
        raise HTTPException(422, "period: YYYY, YYYY-MM or YYYY-MM-DD/YYYY-MM-DD")
    with rt.db.read() as s:
        rows = [figure_json(f, src) for f, src in figures_of(s, measure=measure, start=start, end=end)]
    return [r for r in rows if substance is None or r.get("substance") == substance]


@api.get("/figures", summary="Stored figures with their sources (optionally one measure, substance, period)")
async def figures_api(request: Request, user: Viewer, measure: Annotated[str | None, Query(max_length=64)] = None,
                      substance: Substance = None, period: Period = None) -> list:  # fmt: skip
    return await run_in_threadpool(_figures, runtime(request), measure, substance, period)


@api.get("/compare", summary="One measure year on year (country) or by region, with the contradictions")
async def compare_api(request: Request, user: Viewer, measure: Measure, by: By = "year",
                      substance: Substance = None) -> dict:  # fmt: skip
    from shekteu.stats.compare import checks, compare

    rows = await run_in_threadpool(_figures, runtime(request), measure, substance, None)
    return {"measure": measure, "by": by, "rows": compare(rows, by), "contradictions": checks(rows)}


@pages.get("/dash/stats", response_class=HTMLResponse)
async def stats_page(request: Request, user: Viewer, measure: Annotated[str, Query(max_length=64)] = "seized",
                     substance: Substance = "drugs_total", by: By = "year") -> HTMLResponse:  # fmt: skip
    from shekteu.stats.compare import checks, compare
    from shekteu.stats.extract import measures
    from shekteu.stats.report import UNITS, describe, label, number, region_name
    from shekteu.web.charts import week_bars

    lang = language(request, user)
    text_lang = lang if lang in ("ru", "kk") else "ru"
    if measure not in measures():
        measure = "seized"
    if measure != "seized":
        substance = substance if substance and substance != "drugs_total" else None
    rows = await run_in_threadpool(_figures, runtime(request), measure, substance, None)
    table = compare(rows, by)
    for r in table:
        r["name"] = region_name(r["region"], text_lang) if by == "region" else r["year"]
        r["shown"] = f"{number(r['value'])} {UNITS[text_lang].get(r['unit'], r['unit'])}".strip()
        r["all"] = ", ".join(number(v) for v in r["values"])
    all_measures = sorted(measures(), key=lambda m: label(m, text_lang))
    return render(request, user, "dash/stats.html", section="stats", measure=measure, substance=substance, by=by,
                  table=table, bars=week_bars([int(r["base"]) for r in table]) if by == "year" else [],
                  issues=[c | {"said": describe(c, lang)} for c in checks(rows)], figures=len(rows),
                  measure_label=label(measure, text_lang),
                  choices=[(m, label(m, text_lang)) for m in all_measures])  # fmt: skip


@pages.get("/dash/stats/map.png")
async def stats_map(request: Request, user: Viewer, measure: Measure = "seized", substance: Substance = None,
                    period: Period = None) -> Response:  # fmt: skip
    from shekteu.stats.report import choropleth

    rows = await run_in_threadpool(_figures, runtime(request), measure, substance, period)
    values: dict[str, float] = {}
    for r in rows:
        if r["region"] != "KZ" and r.get("scope") != "case" and r["region"].endswith("0000000"):
            values[r["region"]] = max(values.get(r["region"], 0), r["base"])
    png = await run_in_threadpool(choropleth, values, "")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@pages.get("/dash/stats/report.{fmt}")
async def stats_report(request: Request, user: Viewer, fmt: str,
                       period: Annotated[str, Query(max_length=21, pattern=PERIOD)]) -> Response:  # fmt: skip
    from shekteu.stats import StatsError
    from shekteu.stats.compare import checks
    from shekteu.stats.report import pdf, to_csv, to_xlsx

    if fmt not in ("pdf", "csv", "xlsx"):
        raise HTTPException(404, "reports are pdf, csv or xlsx")
    rows = await run_in_threadpool(_figures, runtime(request), None, None, period)
    issues = checks(rows)
    lang = language(request, user)
    try:
        if fmt == "pdf":
            body = await run_in_threadpool(lambda: pdf(rows, issues, period=period, region=None,
                                                       lang=lang if lang in ("ru", "kk") else "ru"))  # fmt: skip
        elif fmt == "xlsx":
            body = await run_in_threadpool(to_xlsx, rows, issues)
        else:
            body = to_csv(rows).encode("utf-8")
    except StatsError as exc:
        raise HTTPException(422, str(exc)) from None
    kinds = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
    name = f"stats-{period.replace('/', '_')}.{fmt}"
    return Response(body, media_type=kinds[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})
