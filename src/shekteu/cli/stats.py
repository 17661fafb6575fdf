"""`shekteu stats`: operation statistics from press releases (issue 23). The work is in ``shekteu.stats``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shekteu.cli.common import JsonOpt, UserError, app
from shekteu.terminal import emit_json, err, out, safe

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
    json_out: JsonOpt = False,
) -> None:
    """Figures each text states: measure, value, unit, period, region, substance, qualifier, scope, span."""
    from shekteu.stats import StatsError
    from shekteu.stats.extract import extract

    failed = 0
    rows = []
    for row in _records(_read(source), source):
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
