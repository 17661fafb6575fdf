"""The dossier's PDF summary in Russian: the shop, its identifiers, a timeline and the takedowns.

Rendered with fpdf2 and a DejaVu Sans subset shipped in ``fonts/`` (Latin, Cyrillic with the Kazakh
letters), so it works offline and on machines without system fonts. All text drawn comes from the
database, including hostile page text; PDF text drawing does not interpret it.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

LABELS = {"sale": "продажа", "recruit": "вербовка", "drug_other": "о наркотиках", "other": "прочее"}
STATES = {
    "proposed": "предложено",
    "approved": "одобрено",
    "sent": "направлено",
    "blocked": "заблокировано",
    "verified": "блокировка подтверждена",
    "rejected": "отклонено",
    "reappeared": "появилось снова",
}
TARGETS = {
    "url": "URL",
    "domain": "домен",
    "telegram_channel": "Telegram-канал",
    "telegram_bot": "Telegram-бот",
    "telegram_account": "Telegram-аккаунт",
    "bank_card": "банковская карта",
    "wallet": "криптокошелёк",
}


def _printable(text: object, limit: int = 300) -> str:
    """Text the embedded font can draw: other characters become '?', long text is cut."""
    shown = "".join(c if c.isprintable() else " " for c in str(text or ""))[:limit]
    return "".join(c if ord(c) < 0x0500 or 0x2010 <= ord(c) <= 0x2193 else "?" for c in shown)


def render(
    shop: dict[str, Any],
    takedowns: list[dict[str, Any]],
    timeline: list[tuple[datetime, str]],
    manifest_note: str,
) -> bytes:
    from fpdf import FPDF

    fonts = resources.files("shekteu.dossier").joinpath("fonts")
    pdf = FPDF(format="A4")
    pdf.set_creator("Shekteu")
    pdf.set_title(_printable(f"Досье: магазин {shop['id']}"))
    with (
        resources.as_file(fonts.joinpath("DejaVuSans.ttf")) as regular,
        resources.as_file(fonts.joinpath("DejaVuSans-Bold.ttf")) as bold,
    ):
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.multi_cell(width, 7, _printable(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)

    def line(text: str) -> None:
        pdf.multi_cell(width, 5, _printable(text, 600), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(
        width,
        9,
        _printable(f"Досье по интернет-магазину наркотиков № {shop['id']}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 9)
    line(f"Название (по основному идентификатору): {shop['name']}")
    line(
        f"Оценка значимости: {shop['score']:.1f}; материалов: {shop['items']}; адресов (зеркал): {shop['mirrors']}; "
        f"охват (просмотры): {shop['reach']}"
    )
    line(f"Магазин выявлен: {shop['created_at'][:19].replace('T', ' ')} UTC")
    if shop["merged_from"]:
        line(f"Объединён с магазинами: {', '.join(map(str, shop['merged_from']))}")

    heading("Идентификаторы")
    for ind in shop["indicators"]:
        line(f"• {ind['type']}: {ind['normalized']} (упоминаний: {ind['mentions']})")

    heading("Материалы")
    for item in shop["item_list"][:60]:
        date = (item["published_at"] or item["first_seen_at"])[:16].replace("T", " ")
        line(f"• [{item['id']}] {date} {LABELS.get(item['label'] or '', '—')}: {item['url']}")
    if len(shop["item_list"]) > 60:
        line(f"… и ещё {len(shop['item_list']) - 60} (см. items.jsonl)")

    heading("Блокировки")
    if not takedowns:
        line("Запросов на блокировку нет.")
    for td in takedowns:
        line(
            f"• № {td['id']}: {TARGETS.get(td['target_type'], td['target_type'])} {td['target']} → {td['recipient']}: "
            f"{STATES.get(td['state'], td['state'])}"
        )
        for e in td["events"]:
            line(
                f"    {e['at'][:19].replace('T', ' ')} {e['actor']}: {STATES.get(e['to'], e['to'])} — {e['reason']}"
            )

    heading("Хронология")
    for at, what in sorted(timeline)[:200]:
        line(f"{at:%Y-%m-%d %H:%M} — {what}")

    heading("Целостность")
    line(manifest_note)
    return bytes(pdf.output())
