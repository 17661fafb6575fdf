"""Reports of operation statistics for a period and region: CSV and XLSX tables, a choropleth of one
measure by oblast drawn here (Pillow, no tiles), and a PDF in Russian or Kazakh — figures from
releases with their sources, the platform's own figures beside them, and the contradictions found.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from shekteu.stats import StatsError, places

LANGS = ("ru", "kk")
SUBSTANCES = {
    "ru": {"drugs_total": "наркотики всего", "marijuana": "марихуана", "hashish": "гашиш", "heroin": "героин",
           "synthetic": "синтетика", "precursors": "прекурсоры", "cannabis_plant": "каннабис (растение)",
           "mephedrone": "мефедрон", "cocaine": "кокаин", "wild_hemp": "дикорастущая конопля", "chemicals": "химвещества",
           "drug_plants": "наркосодержащие растения", "poppy": "мак", "opium": "опий"},
    "kk": {"drugs_total": "барлық есірткі", "marijuana": "марихуана", "hashish": "гашиш", "heroin": "героин",
           "synthetic": "синтетика", "precursors": "прекурсорлар", "cannabis_plant": "каннабис (өсімдік)",
           "mephedrone": "мефедрон", "cocaine": "кокаин", "wild_hemp": "жабайы қарасора", "chemicals": "химиялық заттар",
           "drug_plants": "есірткі өсімдіктері", "poppy": "көкнәр", "opium": "апиын"},
}  # fmt: skip
WORDS = {
    "ru": {"title": "Оперативная статистика", "period": "Период", "region": "Регион", "made": "Составлен",
           "releases": "Показатели из официальных сообщений", "platform": "Собственные показатели платформы",
           "checks": "Противоречия между источниками", "none": "Не найдено.", "measure": "Показатель",
           "value": "Значение", "where": "Регион", "source": "Источник", "map": "Карта",
           "country": "Казахстан", "sources": "источников", "dsp": "Для служебного пользования"},
    "kk": {"title": "Жедел статистика", "period": "Кезең", "region": "Өңір", "made": "Жасалды",
           "releases": "Ресми хабарламалардағы көрсеткіштер", "platform": "Платформаның өз көрсеткіштері",
           "checks": "Дереккөздер арасындағы қайшылықтар", "none": "Табылмады.", "measure": "Көрсеткіш",
           "value": "Мәні", "where": "Өңір", "source": "Дереккөз", "map": "Карта",
           "country": "Қазақстан", "sources": "дереккөз", "dsp": "Қызметтік пайдалану үшін"},
}  # fmt: skip
UNITS = {"ru": {"count": "", "t": "т", "kg": "кг", "g": "г", "l": "л", "ha": "га", "KZT": "тенге", "USD": "USD",
                "pct": "%", "ratio": "раз", "doses": "доз"},
         "kk": {"count": "", "t": "т", "kg": "кг", "g": "г", "l": "л", "ha": "га", "KZT": "теңге", "USD": "USD",
                "pct": "%", "ratio": "есе", "doses": "доза"}}  # fmt: skip
SAYS = {
    "ru": {"sources_disagree": "{what}, {where}, {period}: {values} — в {n} документах",
           "unit_off_by_1000": "{what}, {where}, {period}: {values} — единицы расходятся в 1000 раз",
           "headline_vs_body": "{what}: в заголовке {a}, в тексте {b} ({source})",
           "parts_above_total": "{what}: сумма частей {b} больше итога {a} ({source})"},
    "kk": {"sources_disagree": "{what}, {where}, {period}: {n} құжатта {values}",
           "unit_off_by_1000": "{what}, {where}, {period}: {values} — өлшем бірліктері 1000 есе өзгеше",
           "headline_vs_body": "{what}: тақырыпта {a}, мәтінде {b} ({source})",
           "parts_above_total": "{what}: бөліктер қосындысы {b} жалпы {a} мәнінен көп ({source})"},
}  # fmt: skip
COLUMNS = ["measure", "value", "unit", "substance", "qualifier", "scope", "period", "region", "source_kind", "source",
           "outlet", "date", "url", "sha256", "as_written"]  # fmt: skip


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"ru": {}, "kk": {}}
    text = resources.files("shekteu.stats").joinpath("data", "labels.tsv").read_text(encoding="utf-8")
    for line in text.splitlines()[1:]:
        if line.strip():
            measure, ru, kk = line.split("\t")
            out["ru"][measure], out["kk"][measure] = ru, kk
    return out


def number(v: float) -> str:
    """12 500 000 and 26,1 as a Russian reader writes them."""
    text = f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",")


def describe(check: dict[str, Any], lang: str) -> str:
    """A contradiction as a sentence in ``lang`` (the CLI prints the English ``detail``)."""
    if lang not in SAYS:
        return str(check["detail"])
    substance = check.get("substance")
    what = label(check["measure"], lang) + (f" ({SUBSTANCES[lang].get(substance, substance)})" if substance else "")
    values = [number(v) for v in check.get("values", [])]
    return SAYS[lang][check["kind"]].format(what=what, where=region_name(check.get("region") or places.COUNTRY, lang),
                                            period=check.get("period") or "—", values=", ".join(values),
                                            n=check.get("documents", ""), a=values[0] if values else "",
                                            b=values[-1] if values else "", source=check.get("source") or "")  # fmt: skip


def label(measure: str, lang: str) -> str:
    return labels().get(lang, {}).get(measure, measure.replace("_", " "))


def region_name(kato: str, lang: str) -> str:
    if kato == places.COUNTRY:
        return WORDS[lang]["country"]
    from shekteu.geo import boundaries

    for a in boundaries.load():
        if a.kato[:2] == kato[:2]:
            return a.oblast_ru + ("" if kato[2:4] == "00" else f" ({kato})")  # the shipped data names oblasts in ru
    return places.NAMES.get(kato, kato)


def flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"measure": r["measure"], "value": r["value"], "unit": r["unit"], "substance": r.get("substance") or "",
             "qualifier": r.get("qualifier") or "", "scope": r.get("scope") or "", "period": r.get("period") or "",
             "region": r["region"], "source_kind": r["source"]["kind"], "source": r["source"]["name"],
             "outlet": r["source"].get("outlet") or "", "date": r["source"].get("date") or "",
             "url": r["source"].get("url") or "", "sha256": r["source"]["sha256"], "as_written": r.get("as_written") or ""}
            for r in rows]  # fmt: skip


def _cell(v: Any) -> Any:
    return v.lstrip("=+-@\t\r") if isinstance(v, str) else v  # no formulas in a spreadsheet cell


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    for r in flat(rows):
        w.writerow({k: _cell(v) for k, v in r.items()})
    return buf.getvalue()


def to_xlsx(rows: list[dict[str, Any]], checks: list[dict[str, Any]]) -> bytes:
    try:
        import openpyxl
    except ImportError:
        raise StatsError("writing .xlsx needs openpyxl: pip install 'shekteu[stats]'") from None
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "figures"
    sheet.append(COLUMNS)
    for r in flat(rows):
        sheet.append([_cell(r[c]) for c in COLUMNS])
    issues = book.create_sheet("contradictions")
    issues.append(["kind", "measure", "region", "period", "detail"])
    for c in checks:
        issues.append([c["kind"], c["measure"], c.get("region") or "", c.get("period") or "", _cell(c["detail"])])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def choropleth(values: dict[str, float], title: str, size: tuple[int, int] = (1400, 800)) -> bytes:
    """A PNG of Kazakhstan's districts coloured by their oblast's value (grey where there is none)."""
    import numpy as np
    from PIL import Image, ImageDraw

    from shekteu.geo import boundaries

    feats = boundaries.outlines()["features"]
    pts = np.array([c for f in feats for poly in f["geometry"]["coordinates"] for c in poly[0]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w, h = size
    kx = np.cos(np.radians((lo[1] + hi[1]) / 2))
    scale = min((w - 40) / ((hi[0] - lo[0]) * kx), (h - 80) / (hi[1] - lo[1]))
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    top = max(values.values(), default=0) or 1
    for f in feats:
        kato = str(f["properties"].get("kato") or "")
        v = values.get(kato[:2] + "0000000")
        if v is None:
            fill = (235, 235, 235)
        else:
            t = (v / top) ** 0.5
            fill = (int(255 - 55 * t), int(235 - 200 * t), int(200 - 170 * t))
        for poly in f["geometry"]["coordinates"]:
            ring = [((x - lo[0]) * kx * scale + 20, h - 20 - (y - lo[1]) * scale) for x, y in poly[0]]
            if len(ring) >= 3:
                d.polygon(ring, fill=fill, outline=(150, 150, 150))
    d.text((20, 10), title, fill="black")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def map_values(rows: list[dict[str, Any]]) -> tuple[str, str | None, dict[str, float]]:
    """The measure (and substance) with figures for the most oblasts, and its value per oblast."""
    per: dict[tuple[str, str | None], dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["region"] != places.COUNTRY and r.get("scope") != "case" and r["region"].endswith("0000000"):
            key = (r["measure"], r.get("substance"))
            per[key][r["region"]] = max(per[key].get(r["region"], 0), r["base"])
    if not per:
        return "", None, {}
    (measure, substance), values = max(per.items(), key=lambda kv: (len(kv[1]), kv[0][0] == "seized"))
    return measure, substance, values


def pdf(rows: list[dict[str, Any]], checks: list[dict[str, Any]], *, period: str, region: str | None,
        lang: str = "ru") -> bytes:  # fmt: skip
    from shekteu.dossier.pages import document
    from shekteu.dossier.pdf import _printable

    if lang not in LANGS:
        raise StatsError(f"--lang {lang}: use ru or kk")
    words, units, subs = WORDS[lang], UNITS[lang], SUBSTANCES[lang]
    doc = document(words["title"], f"Shekteu — {words['title']}")
    doc.add_page()
    width = doc.epw

    def line(text: str, size: int = 9, style: str = "") -> None:
        doc.set_font("DejaVu", style, size)
        doc.multi_cell(width, size * 0.55, _printable(text, 900), new_x="LMARGIN", new_y="NEXT")

    line(words["dsp"], 7)
    line(words["title"], 15, "B")
    line(f"{words['period']}: {period}. {words['region']}: {region_name(region, lang) if region else words['country']}. "
         f"{words['made']}: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC.")  # fmt: skip
    cols = (62, 30, 40, 58)
    for title, kind in ((words["releases"], ("release", "table")), (words["platform"], ("platform",))):
        doc.ln(3)
        line(title, 12, "B")
        group: dict[tuple[str, str | None, str], list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            if r["source"]["kind"] in kind and r.get("scope") != "case":
                group[(r["measure"], r.get("substance"), r["region"])].append(r)
        if not group:
            line(words["none"])
            continue
        doc.set_font("DejaVu", "B", 7)
        for head, wd in zip((words["measure"], words["value"], words["where"], words["source"]), cols, strict=True):
            doc.cell(wd, 5, head, border=1)
        doc.ln()
        doc.set_font("DejaVu", "", 7)
        for (measure, substance, reg), items in sorted(group.items(), key=lambda kv: (kv[0][0], kv[0][1] or '', kv[0][2])):
            last = max(items, key=lambda r: (r["source"].get("date") or "", r["period"] or ""))
            what = label(measure, lang) + (f" ({subs.get(substance, substance)})" if substance else "")
            q = {"gt": "> ", "approx": "~ "}.get(last.get("qualifier") or "", "")
            value = f"{q}{number(last['value'])} {units.get(last['unit'], last['unit'])}".strip()
            src = last["source"].get("outlet") or last["source"]["name"]
            if last["source"].get("date"):
                src += f" {last['source']['date']}"
            if len(items) > 1:
                src += f" (+{len(items) - 1} {words['sources']})"
            for text, wd in zip((what, value, region_name(reg, lang), src), cols, strict=True):
                doc.cell(wd, 5, _printable(text, int(wd * 0.75)), border=1)
            doc.ln()
    doc.ln(3)
    line(words["checks"], 12, "B")
    for c in checks or []:
        line(f"• {describe(c, lang)}", 8)
    if not checks:
        line(words["none"])
    measure, substance, values = map_values(rows)
    if values:
        doc.add_page()
        title = f"{words['map']}: {label(measure, lang)}" + (f" ({subs.get(substance, substance)})" if substance else "")
        line(title, 11, "B")
        doc.image(io.BytesIO(choropleth(values, "")), w=width)
    return bytes(doc.output())


def write(path: Path, rows: list[dict[str, Any]], checks: list[dict[str, Any]], *, period: str, region: str | None,
          lang: str) -> Path:  # fmt: skip
    suffix = Path(path).suffix.lower()
    if suffix == ".pdf":
        data = pdf(rows, checks, period=period, region=region, lang=lang)
    elif suffix == ".csv":
        data = to_csv(rows).encode("utf-8")
    elif suffix == ".xlsx":
        data = to_xlsx(rows, checks)
    else:
        raise StatsError(f"{path}: write the report as .pdf, .csv or .xlsx")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    return Path(path)
