"""Importing figures from tables (CSV or XLSX) that ministries and regional departments publish.

Without a mapping the columns are named as the figure fields (measure, value, unit, period, region,
substance, qualifier, scope). A mapping file (JSON) says which column is which, fills constants and
translates the table's own words into the vocabulary:

    {"columns": {"measure": "Показатель", "value": "2025", "region": "Область"},
     "constants": {"unit": "count", "period": "2025"},
     "measures": {"Наркопреступления": "drug_crimes", "Изъято, кг": "seized"},
     "units": {"Изъято, кг": "kg"}}

Region cells may hold a KATO code or a region name in Russian or Kazakh. Every row is checked before
anything is stored; a bad row is one error naming the file and the row.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.stats import StatsError, places
from shekteu.stats.numbers import normalise
from shekteu.stats.store import _source, add_figures, check_figure, sha256

FIELDS = ("measure", "value", "unit", "period", "region", "substance", "qualifier", "scope")
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000


def _rows(path: Path, raw: bytes) -> list[dict[str, str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError:
            raise StatsError("reading .xlsx needs openpyxl: pip install 'shekteu[stats]'") from None
        try:
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # zip and XML errors of a damaged or disguised file
            raise StatsError(f"{path}: not a readable XLSX workbook ({str(exc)[:150]})") from None
        sheet = book.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        header = [str(c or "").strip() for c in next(cells, ())]
        rows = []
        for n, row in enumerate(cells, 2):
            if n > MAX_ROWS:
                raise StatsError(f"{path}: more than {MAX_ROWS:,} rows")
            rows.append({h: "" if v is None else str(v) for h, v in zip(header, row, strict=False) if h})
        return rows
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatsError(f"{path}: not UTF-8 text (save the table as CSV UTF-8 or XLSX)") from None
    if "\x00" in text[:4096]:
        raise StatsError(f"{path}: a binary file, not a CSV table")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    rows = []
    try:
        for row in reader:
            if reader.line_num > MAX_ROWS:
                raise StatsError(f"{path}: more than {MAX_ROWS:,} rows")
            if None in row:
                raise StatsError(f"{path}: line {reader.line_num} has more cells than the header")
            rows.append({k.strip(): (v or "").strip() for k, v in row.items() if k})
    except csv.Error as exc:
        raise StatsError(f"{path}: malformed CSV at line {reader.line_num} ({exc})") from None
    return rows


def load_mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatsError(f"{path}: not a readable JSON mapping ({exc})") from None
    if not isinstance(mapping, dict) or not set(mapping) <= {"columns", "constants", "measures", "units", "regions"}:
        raise StatsError(f"{path}: a mapping has columns, constants, measures, units and regions only")
    unknown = set(mapping.get("columns", {})) - set(FIELDS)
    if unknown:
        raise StatsError(f"{path}: mapping names unknown fields {', '.join(sorted(unknown))}; fields are {', '.join(FIELDS)}")
    from shekteu.stats.extract import measures

    bad = [m for m in mapping.get("measures", {}).values() if m not in measures()]
    if bad:
        raise StatsError(f"{path}: mapping maps to unknown measure {bad[0]!r} (add it to stats/data/measures.tsv)")
    return mapping


def parse(path: Path, mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """Checked figures of a table file (nothing stored)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StatsError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise StatsError(f"{path}: larger than {MAX_BYTES // 2**20} MB")
    rows = _rows(path, raw)
    if not rows:
        raise StatsError(f"{path}: no rows")
    columns = {f: mapping.get("columns", {}).get(f, f) for f in FIELDS}
    constants = mapping.get("constants", {})
    missing = [f for f in ("measure", "value") if columns[f] not in rows[0] and f not in constants]
    if missing:
        raise StatsError(f"{path}: no column for {', '.join(missing)} (columns: {', '.join(rows[0])}); give --mapping")
    out = []
    for n, row in enumerate(rows, 2):
        f: dict[str, Any] = {k: v for k, v in constants.items() if k in FIELDS}
        for field, col in columns.items():
            if row.get(col, "") != "":
                f[field] = row[col]
        raw_measure = str(f.get("measure", ""))
        f["measure"] = mapping.get("measures", {}).get(raw_measure, raw_measure)
        if raw_measure in mapping.get("units", {}):
            f["unit"] = mapping["units"][raw_measure]
        region = str(f.get("region") or "KZ").strip()
        f["region"] = mapping.get("regions", {}).get(region) or (
            region if region.isdigit() or region == "KZ" else places.region_in(normalise(region)))  # fmt: skip
        if not f["region"]:
            raise StatsError(f"{path}: row {n}: unknown region {region!r} (a KATO code or a region name)")
        out.append(check_figure(f, f"{path}: row {n}"))
    return out


def import_table(session: Session, path: Path, mapping: dict[str, Any], *, actor: str) -> tuple[int, int]:
    """(figures added, rows in the table); the same file imported again adds nothing."""
    figures = parse(path, mapping)
    raw = Path(path).read_bytes()
    src, new = _source(session, kind="table", digest=sha256(raw + json.dumps(mapping, sort_keys=True).encode()),
                       actor=actor, name=Path(path).name, text="")  # fmt: skip
    if not new:
        return 0, len(figures)
    for n, f in enumerate(figures):
        f["start"] = n  # the row: two equal rows stay two figures
    added = add_figures(session, src, figures)
    audit.record(session, "stats.import", f"stat_source:{src.id}", actor=actor, reason="table imported",
                 detail={"file": src.name, "figures": added})  # fmt: skip
    return added, len(figures)
