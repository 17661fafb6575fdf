"""Where and when a figure counts: the region a sentence names (KATO of the oblast or city of
republican significance, or the country as a whole) and the period the text gives (an ISO interval).

Regions are matched by the stems Russian and Kazakh (Cyrillic and Latin) writers use — "Жамбылской
области", "Жамбыл облысында", "Jambyl oblystarynda", "в Алматы" — so the inflected forms all land on the
same KATO code. Periods come from the text's own words ("за девять месяцев 2025 года", "с начала
года", "Қарасора-2025", "в 2024 году", "11 айда") and the release date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

COUNTRY = "KZ"
# KATO of each oblast and city of republican significance, with the stems that name it.
REGIONS = [
    ("100000000", "Abay region", r"абайск\w*\s+обл|абай\s+облыс|\babaı\b"),
    ("110000000", "Akmola region", r"акмолинск|ақмола\s+облыс|aqmola"),
    ("150000000", "Aktobe region", r"актюбинск|ақтөбе\s+облыс|aqtóbe"),
    ("190000000", "Almaty region", r"алматинск\w*\s+обл|алматы\s+облыс|almaty\s+oblys"),
    ("230000000", "Atyrau region", r"атырау"),
    ("270000000", "West Kazakhstan region", r"западно-казахстанск|батыс\s+қазақстан"),
    ("310000000", "Zhambyl region", r"жамбылск|жамбыл\s+облыс|jambyl|\bтараз|шуск\w+\s+(?:район|долин)|шу\s+аудан"),
    ("330000000", "Zhetysu region", r"жетысуск|жетісу"),
    ("350000000", "Karaganda region", r"карагандинск|караганд[аеуы]|қарағанды|qaraǵandy"),
    ("390000000", "Kostanay region", r"костанайск|костана[йея]|қостанай"),
    ("430000000", "Kyzylorda region", r"кызылординск|қызылорда|qyzylorda"),
    ("470000000", "Mangystau region", r"мангистау|маңғыстау"),
    ("550000000", "Pavlodar region", r"павлодар"),
    ("590000000", "North Kazakhstan region", r"северо-казахстанск|солтүстік\s+қазақстан"),
    ("610000000", "Turkestan region", r"туркестанск|түркістан\s+облыс|túrkistan\s+oblys|сайрамск|созақ|созак"),
    ("620000000", "Ulytau region", r"улытау|ұлытау|жезказган"),
    ("630000000", "East Kazakhstan region", r"восточно-казахстанск|шығыс\s+қазақстан"),
    ("710000000", "Astana", r"\bастан[аеуы]|\bв\s+столице|\bastana\b"),
    ("750000000", "Almaty", r"\bалматы\b(?!\s+облыс)|\bв\s+алматы|\bмегаполис"),
    ("790000000", "Shymkent", r"шымкент"),
]
REGION_RE = [(kato, name, re.compile(rx)) for kato, name, rx in REGIONS]
NAMES = {kato: name for kato, name, _ in REGIONS} | {COUNTRY: "Kazakhstan"}

RU_MONTHS = {"один": 1, "два": 2, "двух": 2, "три": 3, "трех": 3, "четыре": 4, "пять": 5, "шесть": 6, "шести": 6,
             "семь": 7, "семи": 7, "восемь": 8, "девять": 9, "девяти": 9, "десять": 10, "одиннадцать": 11}  # fmt: skip
KK_MONTHS = {"бір": 1, "екі": 2, "үш": 3, "төрт": 4, "бес": 5, "bes": 5, "алты": 6, "жеті": 7, "сегіз": 8,
             "тоғыз": 9, "он": 10}  # fmt: skip


MONTH_NUM = {"январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8, "сентябр": 9,
             "октябр": 10, "ноябр": 11, "декабр": 12}  # fmt: skip
MONTH_RE = "январ|феврал|март|апрел|июн|июл|август|сентябр|октябр|ноябр|декабр|ма(?=[яй])"


def region_in(text: str) -> str | None:
    """The KATO of the last region ``text`` names (the one nearest a figure that follows), or None."""
    best, where = None, -1
    for kato, _name, rx in REGION_RE:
        for m in rx.finditer(text):
            if m.start() > where:
                best, where = kato, m.start()
    return best


def year_of(text: str, released: date | None) -> int | None:
    return _year(text, released)


def _year(text: str, released: date | None) -> int | None:
    m = re.search(r"\b(20\d\d)\s*(?:год|г\.|жыл|jyl)", text) or re.search(r"(?:қарасора|карасора)\W{0,4}(20\d\d)", text)
    if m:
        return int(m.group(1))
    return released.year if released else None


def _month_end(year: int, month: int) -> str:
    return f"{year}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def period_in(text: str, released: date | None, year_hint: int | None = None) -> str | None:
    """An ISO interval (or a year) for ``text``; None when it gives no period and there is no date.
    ``year_hint`` is the year of the whole document, for a sentence that names none."""
    year = _year(text, released) if re.search(r"\b20\d\d", text) or released else year_hint
    if year is None:
        return None
    if re.search(r"қарасора|карасора|qarasora", text) and not re.search(r"с начала года|жыл басынан|jyl basynan|"
                                                                       r"(?:\d+|\w+)\s+(?:ай|aı)(?:да|ynda)", text):
        end = f"{year}-10-31"
        if released and released.year == year and released.isoformat() < end:
            end = released.isoformat()  # an interim count: the operation was still running
        return f"{year}-06-01/{end}"
    m = re.search(rf"с\s+({MONTH_RE})\w*\s+по\s+({MONTH_RE})\w*", text)
    if m:
        first, last = MONTH_NUM[m.group(1)], MONTH_NUM[m.group(2)]
        if first <= last:
            return f"{year}-{first:02d}-01/{_month_end(year, last)}"
    m = re.search(r"за\s+(?:первые\s+)?(\d+|\w+)\s+месяц", text)
    if m:
        months = int(m.group(1)) if m.group(1).isdigit() else RU_MONTHS.get(m.group(1))
        if months and 1 <= months <= 12:
            return f"{year}-01-01/{_month_end(year, months)}"
    m = re.search(r"(\d+|\w+)\s+(?:ай|aı)(?:да|дың|ында|ynda|da|\b)", text)
    if m:
        months = int(m.group(1)) if m.group(1).isdigit() else KK_MONTHS.get(m.group(1))
        if months and 1 <= months <= 12:
            return f"{year}-01-01/{_month_end(year, months)}"
    if re.search(r"полугоди|первые полгода|первое полугодие", text):
        return f"{year}-01-01/{year}-06-30"
    if re.search(r"с начала (?:\d{4}\s+)?года|жыл басынан|jyl basynan|в этом году|биыл|bıyl", text) and released:
        return f"{year}-01-01/{released.isoformat()}"
    if re.search(r"\b(20\d\d)\s*(?:год|г\.|жыл|jyl)", text):
        return str(year)
    return str(year) if released else None
