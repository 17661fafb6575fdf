"""Spot maps for people and apps: GeoJSON, KML (patrol and volunteer apps), CSV, and H3 hotspots.

Exports carry no photos (so no EXIF); ``public`` ones also round positions to about 100 m and drop
who is assigned. Text values are escaped for XML; CSV cells that a spreadsheet would run as formulas
are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any
from xml.sax.saxutils import escape

from shekteu.takedown.requests import spreadsheet_safe

FORMATS = ("geojson", "kml", "csv")


def geojson(rows: list[dict[str, Any]]) -> str:
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                 "properties": {k: v for k, v in r.items() if k not in ("lat", "lon")}} for r in rows]  # fmt: skip
    return (
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"
    )


def kml(rows: list[dict[str, Any]]) -> str:
    marks = []
    for r in rows:
        name = escape(f"#{r['id']} {r['status']}")
        about = escape(", ".join(r["indicators"]) or "-") + escape(f" ({r['district'] or '-'})")
        marks.append(f"<Placemark><name>{name}</name><description>{about}</description>"
                     f"<Point><coordinates>{r['lon']},{r['lat']},0</coordinates></Point></Placemark>")  # fmt: skip
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            "<name>Shekteu graffiti spots</name>" + "".join(marks) + "</Document></kml>\n")  # fmt: skip


def as_csv(rows: list[dict[str, Any]]) -> str:
    columns = [
        "id",
        "lat",
        "lon",
        "status",
        "indicators",
        "kato",
        "district",
        "oblast",
        "reports",
        "reopened",
        "overdue",
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([spreadsheet_safe(" ".join(r[c]) if c == "indicators" else r[c]) for c in columns])
    return buf.getvalue()


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return {"geojson": geojson, "kml": kml, "csv": as_csv}[fmt](rows)


def hotspots(rows: list[dict[str, Any]], resolution: int = 8) -> list[dict[str, Any]]:
    """Spot counts per H3 cell (resolution 8: cells of about 0.7 km²), biggest first."""
    import h3

    counts = Counter(h3.latlng_to_cell(r["lat"], r["lon"], resolution) for r in rows)
    out = []
    for cell, n in counts.most_common():
        lat, lon = h3.cell_to_latlng(cell)
        out.append({"cell": cell, "spots": n, "lat": round(lat, 5), "lon": round(lon, 5)})
    return out
