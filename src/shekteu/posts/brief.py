"""The commander's brief: a short Russian PDF of a plan, with a map drawn here (Pillow), no tiles.

One page of figures and the post table, one map: flows as orange lines (width by share), posts as
numbered red marks, sources green, destinations blue, district outlines grey. Marked for official use
— post positions are sensitive.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

METHODS_RU = {"ilp": "точное решение (целочисленное программирование, HiGHS)",
              "ilp-time-limit": "целочисленное программирование, остановлено по времени",
              "greedy": "жадный алгоритм (не хуже 63 % оптимума)"}  # fmt: skip
MODELS_RU = {"share": "поток делится между правдоподобными маршрутами",
             "evade": "курьеры знают посты и объезжают их, если могут"}  # fmt: skip


def _districts() -> dict[str, str]:
    from shekteu.geo import boundaries

    return {a.kato: a.name_ru for a in boundaries.load()}


def render_map(plan: dict[str, Any], size: tuple[int, int] = (1400, 1000)) -> bytes:
    """A PNG of the plan: flows, posts, sources, destinations over district outlines."""
    from PIL import Image, ImageDraw

    feats = plan["features"]
    pts = np.array([c for f in feats for c in _coords(f["geometry"])] or [[0.0, 0.0]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum((hi - lo) * 0.05, 0.05)
    lo, hi = lo - pad, hi + pad
    w, h = size
    kx = np.cos(np.radians((lo[1] + hi[1]) / 2))
    scale = min(w / ((hi[0] - lo[0]) * kx), h / (hi[1] - lo[1]))

    def xy(c: Any) -> tuple[float, float]:
        return ((c[0] - lo[0]) * kx * scale, h - (c[1] - lo[1]) * scale)

    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    from shekteu.geo import boundaries

    for f in boundaries.outlines()["features"]:
        for poly in f["geometry"]["coordinates"]:
            ring = poly[0]
            r = np.array(ring)
            if (r[:, 0].max() < lo[0]) or (r[:, 0].min() > hi[0]) or (r[:, 1].max() < lo[1]) or (r[:, 1].min() > hi[1]):
                continue
            d.line([xy(c) for c in ring], fill=(200, 200, 200), width=1)
    top = max((f["properties"].get("share", 0) for f in feats if f["properties"].get("kind") == "flow"), default=1) or 1
    for f in feats:
        p = f["properties"]
        if p.get("kind") == "flow":
            d.line([xy(c) for c in f["geometry"]["coordinates"]], fill=(255, 140, 0),
                   width=max(1, int(10 * p["share"] / top)))  # fmt: skip
    for f in feats:
        p = f["properties"]
        x, y = xy(f["geometry"]["coordinates"])
        if p.get("kind") == "source":
            d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(30, 150, 30))
        elif p.get("kind") == "destination":
            d.rectangle([x - 5, y - 5, x + 5, y + 5], fill=(40, 80, 200))
    for f in feats:
        p = f["properties"]
        if p.get("kind") == "post":
            x, y = xy(f["geometry"]["coordinates"])
            d.ellipse([x - 11, y - 11, x + 11, y + 11], fill=(210, 20, 20), outline="black")
            d.text((x - 4 * len(str(p["n"])), y - 6), str(p["n"]), fill="white")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _coords(g: dict[str, Any]) -> list[Any]:
    return [g["coordinates"]] if g["type"] == "Point" else list(g["coordinates"])


def render(plan: dict[str, Any], *, author: str, source: str = "") -> bytes:
    from shekteu.dossier.pages import document
    from shekteu.dossier.pdf import _printable

    s = plan["shekteu"]["summary"]
    r = s["rota"]
    names = _districts()
    pdf = document("Мобильные посты: план размещения", "Shekteu — ДСП")
    pdf.add_page()
    width = pdf.epw

    def text(line: str, size: int = 9, style: str = "") -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, size * 0.6, _printable(line, 900), new_x="LMARGIN", new_y="NEXT")

    text("ДЛЯ СЛУЖЕБНОГО ПОЛЬЗОВАНИЯ — расположение постов конфиденциально", 8, "B")
    text("Мобильные посты: план размещения", 15, "B")
    text(f"Составлен: {s['created'][:16].replace('T', ' ')} UTC, {author}. Источник дорог: {source or 'файл пользователя'}.")
    pdf.ln(2)
    gap = "не оценён" if s["gap"] is None else f"{s['gap']:.1%}"
    text(f"{s['k']} пост(ов) перехватывают {s['intercepted_share']:.1%} потока из зоны произрастания "
         f"(разрыв до оптимума: {gap}).", 11, "B")  # fmt: skip
    text(f"Метод: {METHODS_RU.get(s['method'], s['method'])}. Модель курьеров: {MODELS_RU.get(s['model'], s['model'])}.")
    text(f"Источников: {s['sources']}, направлений: {s['destinations']}, маршрутов: {s['routes']}, "
         f"участков-кандидатов: {s['candidates']}. "
         f"Не связано с дорогами: {s['unrouted_share']:.1%} веса источников.")  # fmt: skip
    pdf.ln(2)
    text("Посты", 12, "B")
    pdf.set_font("DejaVu", "B", 8)
    cols = (10, 42, 70, 40, 20)
    for label, wd in zip(("№", "Координаты", "Дорога", "Район", "Доля"), cols, strict=True):
        pdf.cell(wd, 6, label, border=1)
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for f in plan["features"]:
        p = f["properties"]
        if p.get("kind") != "post":
            continue
        lon, lat = f["geometry"]["coordinates"]
        cells = (str(p["n"]), f"{lat:.5f}, {lon:.5f}", _printable(p.get("road") or "—", 45),
                 _printable(names.get(p.get("kato", ""), "—"), 24), f"{p['intercepted']:.1%}")  # fmt: skip
        for value, wd in zip(cells, cols, strict=True):
            pdf.cell(wd, 6, value, border=1)
        pdf.ln()
    pdf.ln(3)
    text("Случайный график (ротация)", 12, "B")
    text(f"Посты переставляются каждую смену по смешанной стратегии (игра Штакельберга, как ARMOR): "
         f"ожидаемый перехват {r['expected_share']:.1%} при допустимой потере {r['loss']:.0%}; "
         f"неопределённость расстановки {r['entropy_bits']:.2f} бит против {r['pure_entropy_bits']:.2f} у постоянных постов. "
         f"Курьер, который наблюдает за постами и выбирает наименее охраняемый маршрут, перехватывается с долей "
         f"{r['watched_share']:.1%} (при постоянных постах — {s['watched_share']:.1%}). "
         "График на N дней: `shekteu posts roster`.")  # fmt: skip
    for note in s.get("notes", []) + s.get("problems", [])[:5]:
        text(f"• {note}", 8)
    pdf.add_page()
    text("Карта: потоки (оранжевые), посты (красные, с номерами), источники (зелёные), направления (синие)", 10, "B")
    png = render_map(plan)
    pdf.image(io.BytesIO(png), w=width)
    return bytes(pdf.output())
