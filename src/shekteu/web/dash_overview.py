"""The overview page and API: the outcome funnels, weekly trends, and the user's own preferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu import accounts, overview
from shekteu.web.auth import Viewer, acting_any, safe_next
from shekteu.web.charts import funnel_bars, week_bars
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import back, form_values, render
from shekteu.wording import wording

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["overview"])

STEP_NAMES = {"tips": N_("Tips"), "verified": N_("Linked to a shop"), "takedowns_sent": N_("Takedowns sent"),
              "blocked": N_("Blocked"), "block_verified": N_("Block verified"), "criminal_cases": N_("Criminal cases"),
              "reported": N_("Graffiti reported"), "painted": N_("Painted over"), "confirmed": N_("Confirmed")}  # fmt: skip
NEEDS_NAMES = {"tips_to_triage": N_("Tips to triage"), "takedowns_to_approve": N_("Takedowns awaiting your approval"),
               "overdue_spots": N_("Overdue graffiti spots"), "quarantined_jobs": N_("Quarantined jobs"),
               "sensor_alerts": N_("Open sensor alerts")}  # fmt: skip
SERIES_NAMES = {"tips": N_("Tips per week"), "sent": N_("Takedowns sent per week"), "blocked": N_("Blocked per week"),
                "spots": N_("Graffiti reported per week")}  # fmt: skip


def _data(request: Request, user: Any = None) -> dict[str, Any]:
    with runtime(request).db.read() as s:
        data = {"funnel": overview.funnel(s), "trends": overview.trends(s)}
        if user is not None:
            data["needs_you"] = overview.needs_you(s, user.name, set(user.roles))
        return data


@api.get("/overview", summary="Outcome funnels and weekly trends")
async def overview_json(request: Request, user: Viewer) -> dict[str, Any]:
    return await run_in_threadpool(_data, request, user)


@api.get("/me", summary="The signed-in user")
def me(user: Viewer) -> dict[str, Any]:
    return {"name": user.name, "roles": list(user.roles), "lang": user.lang, "via": user.via}


@pages.get("/dash", response_class=HTMLResponse)
async def overview_page(request: Request, user: Viewer) -> HTMLResponse:
    data = await run_in_threadpool(_data, request, user)
    trends = data["trends"]
    charts = [{"key": k, "label": SERIES_NAMES[k], "bars": week_bars(trends[k]), "total": sum(trends[k])}
              for k in SERIES_NAMES]  # fmt: skip
    return render(request, user, "dash/overview.html", section="overview", step_names=STEP_NAMES,
                  reports=funnel_bars(data["funnel"]["reports"]), graffiti=funnel_bars(data["funnel"]["graffiti"]),
                  charts=charts, weeks=trends["weeks"], needs=data["needs_you"], needs_names=NEEDS_NAMES)  # fmt: skip


@pages.post("/dash/lang")
async def choose_language(request: Request) -> Response:
    user = await acting_any(request)
    values = await form_values(request)
    lang, to = values.get("lang", ""), safe_next(values.get("back"))
    rt = runtime(request)

    def save() -> None:
        with rt.db.write() as s:
            accounts.set_lang(s, accounts.get_user(s, user.name), lang)

    try:
        await run_in_threadpool(save)
    except ValueError as exc:
        return back(request, to, wording(exc), "error", user=user)
    return back(request, to, "✓")
