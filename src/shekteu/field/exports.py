"""Write sites as GeoJSON (maps, the dashboard), KML (drone and patrol apps) or GeoPackage (GIS).

GeoJSON and KML are written here directly (every text value escaped; KML placemarks coloured by
status); GeoPackage goes through GDAL (pyogrio), so QGIS and ArcGIS read it as they read their own.
Files are written to a temporary name and renamed, so an interrupted export never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from shekteu.field import FieldError

FORMATS = ("geojson", "kml", "gpkg")
KML_COLOURS = {"suspected": "ff00a5ff", "confirmed": "ff0000ff", "destroyed": "ff808080"}  # aabbggrr


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def format_for(path: Path, fmt: str | None = None) -> str:
    """The export format asked for, or the one ``path``'s suffix names; FieldError if neither is known."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    fmt = {"json": "geojson"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise FieldError(
            f"{path}: unknown export format {fmt or '(no suffix)'!r}; use one of {', '.join(FORMATS)}"
        )
    return fmt


def write(path: Path, features: list[dict[str, Any]], fmt: str | None = None) -> Path:
    """Write GeoJSON-like ``features`` (lon/lat) to ``path`` in ``fmt`` (default: from the suffix)."""
    fmt = format_for(path, fmt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        if fmt == "geojson":
            Path(tmp).write_text(
                json.dumps(feature_collection(features), ensure_ascii=False) + "\n", encoding="utf-8"
            )
        elif fmt == "kml":
            Path(tmp).write_text(kml(features), encoding="utf-8")
        else:
            os.unlink(tmp)
            _gpkg(Path(tmp), features)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _coords(ring: list) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in ring)


def _kml_polygon(rings: list) -> str:
    outer = f"<outerBoundaryIs><LinearRing><coordinates>{_coords(rings[0])}</coordinates></LinearRing></outerBoundaryIs>"
    inner = "".join(
        f"<innerBoundaryIs><LinearRing><coordinates>{_coords(r)}</coordinates></LinearRing></innerBoundaryIs>"
        for r in rings[1:]
    )
    return f"<Polygon>{outer}{inner}</Polygon>"


def kml(features: list[dict[str, Any]]) -> str:
    styles = "".join(
        f'<Style id="{s}"><LineStyle><color>{c}</color><width>2</width></LineStyle>'
        f"<PolyStyle><color>{'66' + c[2:]}</color></PolyStyle></Style>"
        for s, c in KML_COLOURS.items()
    )
    marks = []
    for n, f in enumerate(features, 1):
        props = f.get("properties") or {}
        geom = f["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        shape = "".join(_kml_polygon(p) for p in polys)
        if len(polys) > 1:
            shape = f"<MultiGeometry>{shape}</MultiGeometry>"
        data = "".join(
            f'<Data name="{escape(str(k))}"><value>{escape(str(v))}</value></Data>'
            for k, v in props.items()
            if v is not None
        )
        name = props.get("change") or props.get("district") or "site"
        title = f"{props.get('id', n)}: {name}, {props.get('hectares', 0)} ha"
        style = props.get("status", "suspected")
        marks.append(
            f"<Placemark><name>{escape(str(title))}</name><styleUrl>#{escape(str(style))}</styleUrl>"
            f"<ExtendedData>{data}</ExtendedData>{shape}</Placemark>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>Shekteu field sites</name>{styles}{''.join(marks)}</Document></kml>\n"
    )


def _gpkg(path: Path, features: list[dict[str, Any]]) -> None:
    import numpy as np
    import pyogrio.raw
    import shapely
    from shapely.geometry import MultiPolygon, shape

    geoms = []
    for f in features:
        g = shape(f["geometry"])
        geoms.append(shapely.to_wkb(MultiPolygon([g]) if g.geom_type == "Polygon" else g))
    keys: list[str] = []
    for f in features:
        keys += [k for k in (f.get("properties") or {}) if k not in keys]
    columns = []
    for k in keys:
        values = [(f.get("properties") or {}).get(k) for f in features]
        numeric = all((isinstance(v, int | float) and not isinstance(v, bool)) or v is None for v in values)
        if numeric and any(v is not None for v in values):
            columns.append(np.array([np.nan if v is None else float(v) for v in values]))
        else:
            columns.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
    pyogrio.raw.write(str(path), np.array(geoms, dtype=object), columns, keys, layer="sites", driver="GPKG",
                      geometry_type="MultiPolygon", crs="EPSG:4326")  # fmt: skip
