"""`shekteu stats`: operation statistics from press releases (issue 23). The work is in ``shekteu.stats``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shekteu import audit
from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

stats_app = typer.Typer(no_args_is_help=True, help="Operation statistics: figures from releases and the platform.")
app.add_typer(stats_app, name="stats")
MAX_INPUT = 200 * 1024 * 1024


def _read(source: str) -> str:
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT + 1) if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise UserError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_INPUT:
        raise UserError(f"{source}: larger than {MAX_INPUT // 2**20} MB; split it")
    if b"\x00" in raw[:65536]:
        raise UserError(f"{source}: a binary file, not text or JSON Lines")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def _records(text: str, source: str) -> list[dict[str, Any]]:
    """JSON Lines of {"id","text"[, "date"]}; a file that is not JSON is one text named by the file."""
    if not text.lstrip().startswith("{"):
        return [{"id": Path(source).name if source != "-" else "stdin", "text": text}]
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append({"id": None, "error": f"line {n}: not JSON ({exc.msg})"})
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            rows.append({"id": row.get("id") if isinstance(row, dict) else None, "error": f"line {n}: needs a text"})
            continue
        rows.append(row)
    return rows


@stats_app.command("extract")
def extract_cmd(
    source: Annotated[str, typer.Argument(help="JSON Lines {\"id\",\"text\"[,\"date\"]}, a text file, or - for stdin.")] = "-",
    keep: Annotated[bool, typer.Option("--store", help="Also keep the texts and their figures (once each).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Figures each text states: measure, value, unit, period, region, substance, qualifier, scope, span."""
    from shekteu.stats import StatsError
    from shekteu.stats.extract import extract

    failed = 0
    rows = []
    records = _records(_read(source), source)
    if keep:
        _keep([r for r in records if "error" not in r])
    for row in records:
        if "error" not in row:
            try:
                row = {**row, "figures": [f.as_json() for f in extract(row["text"], row.get("date"))]}
            except StatsError as exc:
                row = {**row, "error": f"text {row.get('id')}: {exc}"}
        if "error" in row:
            failed += 1
            err.print(f"[red]error:[/red] {safe(row['error'])}")
        doc = {"id": row.get("id"), "figures": row.get("figures", [])} | ({"error": row["error"]} if "error" in row else {})
        rows.append((row, doc))
        if json_out:
            emit_json(doc)
    if not json_out:
        from rich.table import Table

        table = Table("id", "measure", "value", "unit", "substance", "qualifier", "region", "period", "as written")
        for row, doc in rows:
            for f in doc["figures"]:
                table.add_row(safe(str(doc["id"]), 20), f["measure"], f"{f['value']:,}", f["unit"], f["substance"] or "",
                              f["qualifier"] or "", f["region"], f["period"] or "", safe(row["text"][f["start"] : f["end"]], 40))
        out.print(table)
    if failed:
        raise typer.Exit(2)


def _keep(records: list[dict[str, Any]]) -> None:
    from shekteu.stats import StatsError
    from shekteu.stats.store import add_release

    rt = open_runtime()
    added = 0
    try:
        with progress(len(records), "storing releases") as bar, rt.db.write() as session:
            task = bar.task_ids[0]
            for r in records:
                _src, n = add_release(session, r, actor=audit.current_actor())
                added += n
                bar.advance(task)
    except StatsError as exc:
        raise UserError(str(exc)) from None
    err.print(f"stored: {added} new figures from {len(records)} texts")


def _period(value: str) -> tuple[str, str]:
    from shekteu.stats.store import period_bounds

    start, end = period_bounds(value)
    if not start or not end:
        raise UserError(f"--period {value}: give YYYY, YYYY-MM or an ISO interval YYYY-MM-DD/YYYY-MM-DD")
    return start, end


def _stored(measure: str | None = None, region: str | None = None, period: str | None = None) -> list[dict[str, Any]]:
    from shekteu.stats.store import figure_json, figures_of

    start, end = _period(period) if period else (None, None)
    rt = open_runtime()
    with rt.db.read() as session:
        return [figure_json(f, s) for f, s in figures_of(session, measure=measure, region=region, start=start, end=end)]


@stats_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="A CSV or XLSX table of figures.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="JSON: which column is which, constants, "
                                                 "the table's words for measures.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import figures from a table (the same file twice adds nothing)."""
    from shekteu.stats import StatsError
    from shekteu.stats.tables import import_table, load_mapping

    rt = open_runtime()
    try:
        m = load_mapping(mapping)
        with rt.db.write() as session:
            added, rows = import_table(session, path, m, actor=audit.current_actor())
    except StatsError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json({"added": added, "rows": rows})
    else:
        out.print(f"{added} figures added from {rows} rows of {safe(path.name)}")


@stats_app.command("platform")
def platform_cmd(
    period: Annotated[str, typer.Option("--period", help="YYYY, YYYY-MM or YYYY-MM-DD/YYYY-MM-DD.")],
    json_out: JsonOpt = False,
) -> None:
    """Count the platform's own figures for a period (tips, blocks, cases, graffiti, hectares, alerts) and keep them."""
    from datetime import date

    from shekteu.stats import StatsError
    from shekteu.stats.platform import store

    start, end = _period(period)
    rt = open_runtime()
    try:
        with rt.db.write() as session:
            figures, added = store(session, date.fromisoformat(start), date.fromisoformat(end), actor=audit.current_actor())
    except StatsError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        for f in figures:
            emit_json(f)
        return
    from rich.table import Table

    table = Table("measure", "region", "value", "unit", title=f"Shekteu {start}/{end} ({added} new)")
    for f in figures:
        table.add_row(f["measure"], f["region"], f"{f['value']:,g}", f["unit"])
    out.print(table)


@stats_app.command("compare")
def compare_cmd(
    measure: Annotated[str, typer.Option("--measure", help="A measure of the vocabulary, e.g. seized, drug_crimes.")],
    by: Annotated[str, typer.Option("--by", help="year (country figures, change on the year) or region.")] = "year",
    substance: Annotated[str | None, typer.Option("--substance", help="For seizures: drugs_total, marijuana, …")] = None,
    json_out: JsonOpt = False,
) -> None:
    """One measure year on year or region by region, with every source and the contradictions among them."""
    from shekteu.stats import StatsError
    from shekteu.stats.compare import checks, compare
    from shekteu.stats.extract import measures

    if measure not in measures():
        raise UserError(f"unknown measure {measure!r}; see src/shekteu/stats/data/measures.tsv")
    rows = [r for r in _stored(measure) if substance is None or r.get("substance") == substance]
    try:
        table_rows = compare(rows, by)
    except StatsError as exc:
        raise UserError(str(exc)) from None
    issues = checks(rows)
    if json_out:
        emit_json({"measure": measure, "by": by, "rows": table_rows, "contradictions": issues})
        return
    from rich.table import Table

    table = Table(by, "value", "unit", "period", "change %", "all values", "sources", title=measure)
    for r in table_rows:
        table.add_row(str(r[by]), f"{r['value']:,g}", r["unit"], r["period"] or "", str(r.get("change_pct", "")),
                      ", ".join(f"{v:,g}" for v in r["values"]), safe(", ".join(r["sources"]), 60))  # fmt: skip
    out.print(table)
    for c in issues:
        err.print(f"[yellow]{c['kind']}[/yellow]: {safe(c['detail'])}")


@stats_app.command("check")
def check_cmd(json_out: JsonOpt = False) -> None:
    """Contradictions among all stored figures: sources that disagree, headlines against their text,
    units off by 1,000, parts above their total."""
    from shekteu.stats.compare import checks

    issues = checks(_stored())
    for c in issues:
        if json_out:
            emit_json(c)
        else:
            out.print(f"{c['kind']}: {safe(c['detail'])}")
    if not issues and not json_out:
        out.print("no contradictions among the stored figures")


@stats_app.command("report")
def report_cmd(
    period: Annotated[str, typer.Option("--period", help="YYYY, YYYY-MM or YYYY-MM-DD/YYYY-MM-DD.")],
    out_file: Annotated[Path, typer.Option("--out", help="report.pdf, report.csv or report.xlsx")],
    region: Annotated[str | None, typer.Option("--region", help="KATO of an oblast (e.g. 310000000), or KZ.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="ru or kk (the PDF).")] = "ru",
) -> None:
    """A report of the figures whose period overlaps P: releases and the platform side by side, contradictions."""
    from shekteu.stats import StatsError
    from shekteu.stats.compare import checks
    from shekteu.stats.report import write

    rows = _stored(region=region, period=period)
    try:
        write(out_file, rows, checks(rows), period=period, region=region, lang=lang)
    except StatsError as exc:
        raise UserError(str(exc)) from None
    out.print(f"{len(rows)} figures written to {safe(str(out_file))}")
