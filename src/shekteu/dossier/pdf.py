"""The dossier's PDF summary in Russian: the shop, its identifiers, a timeline and the takedowns.

Rendered with fpdf2 and a DejaVu Sans subset shipped in ``fonts/`` (Latin, Cyrillic with the Kazakh
letters), so it works offline and on machines without system fonts. All text drawn comes from the
database, including hostile page text; PDF text drawing does not interpret it.
"""

from __future__ import annotations

from datetime import datetime
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


WORDS = {
    "ru": {
        "title": "Досье по интернет-магазину наркотиков № {id}",
        "doc": "Досье: магазин {id}",
        "name": "Название (по основному идентификатору)",
        "score": "Оценка значимости: {score:.1f}; материалов: {items}; "
        "адресов (зеркал): {mirrors}; охват (просмотры): {reach}",
        "found": "Магазин выявлен",
        "merged": "Объединён с магазинами",
        "ids": "Идентификаторы",
        "mentions": "упоминаний",
        "items": "Материалы",
        "more": "… и ещё {n} (см. items.jsonl)",
        "quotes": "Тексты объявлений (выдержки)",
        "captures": "Сохранённые страницы (WARC, SHA-256)",
        "no_captures": "ВНИМАНИЕ: у магазина нет сохранённых страниц: доказательства — только "
        "тексты материалов; сохраните страницы (shekteu capture) до передачи дела.",
        "takedowns": "Блокировки",
        "no_takedowns": "Запросов на блокировку нет.",
        "timeline": "Хронология",
        "integrity": "Целостность",
        "footer": "Shekteu · досье магазина {id} · ДСП",
    },
    "kk": {
        "title": "Есірткі интернет-дүкені бойынша досье № {id}",
        "doc": "Досье: дүкен {id}",
        "name": "Атауы (негізгі идентификатор бойынша)",
        "score": "Маңыздылық бағасы: {score:.1f}; материалдар: {items}; "
        "мекенжайлар (айналар): {mirrors}; қамту (қаралым): {reach}",
        "found": "Дүкен анықталды",
        "merged": "Біріктірілген дүкендер",
        "ids": "Идентификаторлар",
        "mentions": "аталым",
        "items": "Материалдар",
        "more": "… тағы {n} (items.jsonl қараңыз)",
        "quotes": "Хабарландыру мәтіндері (үзінділер)",
        "captures": "Сақталған беттер (WARC, SHA-256)",
        "no_captures": "НАЗАР АУДАРЫҢЫЗ: дүкеннің сақталған беттері жоқ: дәлел тек "
        "материалдар мәтіні; істі бермес бұрын беттерді сақтаңыз (shekteu capture).",
        "takedowns": "Бұғаттаулар",
        "no_takedowns": "Бұғаттау сұраулары жоқ.",
        "timeline": "Хронология",
        "integrity": "Тұтастық",
        "footer": "Shekteu · дүкен досьесі {id} · ҚБП",
    },
}
STATES_KK = {"proposed": "ұсынылды", "approved": "мақұлданды", "sent": "жіберілді", "blocked": "бұғатталды",
             "verified": "бұғаттау расталды", "rejected": "қабылданбады", "reappeared": "қайта пайда болды"}  # fmt: skip
LABELS_KK = {"sale": "сату", "recruit": "жалдау", "drug_other": "есірткі туралы", "other": "басқа"}


def render(
    shop: dict[str, Any],
    takedowns: list[dict[str, Any]],
    timeline: list[tuple[datetime, str]],
    manifest_note: str,
    *,
    captures: list[dict[str, Any]] | None = None,
    items: list[dict[str, Any]] | None = None,
    lang: str = "ru",
) -> bytes:
    from shekteu.dossier.pages import document

    w = WORDS.get(lang, WORDS["ru"])
    states = STATES_KK if lang == "kk" else STATES
    labels = LABELS_KK if lang == "kk" else LABELS
    pdf = document(_printable(w["doc"].format(id=shop["id"])), _printable(w["footer"].format(id=shop["id"])))
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
    pdf.multi_cell(width, 9, _printable(w["title"].format(id=shop["id"])), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    line(f"{w['name']}: {shop['name']}")
    line(w["score"].format(score=shop["score"], items=shop["items"], mirrors=shop["mirrors"], reach=shop["reach"]))
    line(f"{w['found']}: {shop['created_at'][:19].replace('T', ' ')} UTC")
    if shop["merged_from"]:
        line(f"{w['merged']}: {', '.join(map(str, shop['merged_from']))}")
    stored = [c for c in captures or [] if c.get("file")]
    if captures is not None and not stored:
        pdf.set_font("DejaVu", "B", 10)
        line(w["no_captures"])
        pdf.set_font("DejaVu", "", 9)

    heading(w["ids"])
    for ind in shop["indicators"]:
        line(f"• {ind['type']}: {ind['normalized']} ({w['mentions']}: {ind['mentions']})")

    heading(w["items"])
    for item in shop["item_list"][:60]:
        date = (item["published_at"] or item["first_seen_at"])[:16].replace("T", " ")
        line(f"• [{item['id']}] {date} {labels.get(item['label'] or '', '—')}: {item['url']}")
    if len(shop["item_list"]) > 60:
        line(w["more"].format(n=len(shop["item_list"]) - 60))

    quoted = [i for i in items or [] if (i.get("text") or "").strip()][:30]
    if quoted:
        heading(w["quotes"])
        for item in quoted:
            text = " ".join(str(item["text"]).split())
            line(f"[{item['id']}] «{text[:400]}{'…' if len(text) > 400 else ''}»")

    if stored:
        heading(w["captures"])
        for c in stored:
            line(f"• {c['id']} {c['fetched_at'][:19].replace('T', ' ')} UTC {c['url']}")
            line(f"    SHA-256: {c['sha256'] or '—'} · {c['file']}")

    heading(w["takedowns"])
    if not takedowns:
        line(w["no_takedowns"])
    for td in takedowns:
        line(f"• № {td['id']}: {TARGETS.get(td['target_type'], td['target_type'])} {td['target']} → {td['recipient']}: "
             f"{states.get(td['state'], td['state'])}")  # fmt: skip
        for e in td["events"]:
            line(f"    {e['at'][:19].replace('T', ' ')} {e['actor']}: {states.get(e['to'], e['to'])} — {e['reason']}")

    heading(w["timeline"])
    for at, what in sorted(timeline)[:200]:
        line(f"{at:%Y-%m-%d %H:%M} — {what}")

    heading(w["integrity"])
    line(manifest_note)
    return bytes(pdf.output())
