"""The citizen web form: plain HTML that works without JavaScript, in Russian, Kazakh and English."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from shekteu.tips import messages
from shekteu.tips.intake import TipError, TipInput, submit
from shekteu.tips.status import TipStatusError, get_tip
from shekteu.web.auth import client_address
from shekteu.web.common import client_id, read_upload, runtime, templates
from shekteu.web.i18n import in_language
from shekteu.web.intake_threads import run_intake
from shekteu.wording import N_

router = APIRouter(include_in_schema=False)

TEXT = {
    "ru": {"title": "Сообщить о продаже наркотиков", "intro": "Анонимно: мы не спрашиваем имя и телефон. "
           "Сообщите ссылку или @имя магазина, или сфотографируйте надпись на стене.",
           "kind": "Что вы нашли", "online_shop": "Магазин в интернете или Telegram", "graffiti": "Надпись на стене",
           "other": "Другое", "text": "Ссылка, @имя или описание", "photo": "Фото (необязательно)",
           "location": "Где это (широта, долгота; необязательно)", "send": "Отправить",
           "check": "Проверить обращение", "check_button": "Проверить", "back": "Новое сообщение",
           "thanks": "Спасибо!", "status": "Статус обращения", "error": "Не удалось отправить"},
    "kk": {"title": "Есірткі сатуы туралы хабарлау", "intro": "Жасырын: атыңыз бен телефоныңызды сұрамаймыз. "
           "Дүкеннің сілтемесін не @атын жіберіңіз немесе қабырғадағы жазуды суретке түсіріңіз.",
           "kind": "Не таптыңыз", "online_shop": "Интернет немесе Telegram дүкені", "graffiti": "Қабырғадағы жазу",
           "other": "Басқа", "text": "Сілтеме, @аты немесе сипаттама", "photo": "Фото (міндетті емес)",
           "location": "Орны (ендік, бойлық; міндетті емес)", "send": "Жіберу",
           "check": "Өтінішті тексеру", "check_button": "Тексеру", "back": "Жаңа хабарлама",
           "thanks": "Рахмет!", "status": "Өтініш мәртебесі", "error": "Жіберу мүмкін болмады"},
    "en": {"title": "Report drug sales", "intro": "Anonymous: we do not ask for your name or phone. "
           "Send a link or @handle of the shop, or a photo of the graffiti.",
           "kind": "What did you find", "online_shop": "An online or Telegram shop", "graffiti": "Graffiti on a wall",
           "other": "Other", "text": "Link, @handle or description", "photo": "Photo (optional)",
           "location": "Where (latitude, longitude; optional)", "send": "Send",
           "check": "Check a ticket", "check_button": "Check", "back": "New report",
           "thanks": "Thank you!", "status": "Ticket status", "error": "Could not send"},
}  # fmt: skip


def pick_lang(request: Request, lang: str | None) -> str:
    if lang in TEXT:
        return lang
    accepted = request.headers.get("accept-language", "").lower()
    for part in accepted.split(","):
        code = part.split(";")[0].strip()[:2]
        if code in TEXT:
            return code
    return "ru"


def _page(request: Request, name: str, lang: str, status: int = 200, **values: object) -> HTMLResponse:
    context = {"lang": lang, "langs": list(TEXT), "t": TEXT[lang], "text": "", "lat": "", "lon": "", **values}
    return templates().TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
def form(request: Request, lang: Annotated[str | None, Query()] = None) -> HTMLResponse:
    return _page(request, "form.html", pick_lang(request, lang))


def _number(raw: str | None) -> float | None:
    raw = (raw or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise TipError(N_("not a number: {value!r}"), value=raw[:40]) from None


@router.post("/report", response_class=HTMLResponse)
async def report(
    request: Request,
    lang: Annotated[str | None, Query()] = None,
    kind: Annotated[str, Form()] = "other",
    text: Annotated[str, Form()] = "",
    lat: Annotated[str | None, Form()] = None,
    lon: Annotated[str | None, Form()] = None,
    photo: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    rt = runtime(request)
    code = pick_lang(request, lang)
    try:
        photos = [data] if (data := await read_upload(photo, rt.settings.tip_max_photo_bytes)) else []
        tip = TipInput(channel="web", user_id=client_id(request), kind=kind, text=text, photos=photos,
                       lat=_number(lat), lon=_number(lon), lang=code)  # fmt: skip
        receipt = await run_intake(request, submit, rt, tip)
    except TipError as exc:
        return _page(request, "form.html", code, 400, error=f"{TEXT[code]['error']}: {in_language(exc, code)}", text=text,
                     lat=lat or "", lon=lon or "")  # fmt: skip
    return _page(
        request,
        "done.html",
        code,
        heading=TEXT[code]["thanks"],
        ticket=receipt.ticket,
        message=receipt.message,
    )


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, ticket: str = "", lang: Annotated[str | None, Query()] = None) -> HTMLResponse:
    rt = runtime(request)
    code = pick_lang(request, lang)
    if not request.app.state.lookups.allow(client_address(request)):
        return _page(request, "done.html", code, 429, heading=TEXT[code]["status"], ticket=None,
                     message=messages.text("lookups_limited", code))  # fmt: skip
    try:
        with rt.db.read() as session:
            tip = get_tip(session, ticket)
            shown = tip.public_status
            if shown == messages.status_text(
                tip.status, tip.lang
            ):  # the default text: say it in this language
                shown = messages.status_text(tip.status, code)
            message = messages.text("status", code, ticket=tip.ticket, status=shown)
            found = tip.ticket
    except TipStatusError:
        return _page(request, "done.html", code, 404, heading=TEXT[code]["status"], ticket=None,
                     message=messages.text("unknown_ticket", code, ticket=ticket[:20]))  # fmt: skip
    return _page(request, "done.html", code, heading=TEXT[code]["status"], ticket=found, message=message)
