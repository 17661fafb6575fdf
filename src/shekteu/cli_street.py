"""`shekteu photo`: read wall photos (thin command over ``shekteu.street.photo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli import JsonOpt, app
from shekteu.terminal import emit_json, err, out, progress, safe


@app.command("photo")
def photo_cmd(
    files: Annotated[list[Path], typer.Argument(help="Photos (JPEG, PNG, WebP, HEIC …).")],
    json_out: JsonOpt = False,
    no_ocr: Annotated[
        bool, typer.Option("--no-ocr", help="Skip text recognition (QR and EXIF only).")
    ] = False,
) -> None:
    """EXIF GPS and time, QR codes and painted text of wall photos, and the shop indicators in them."""
    from shekteu.street.photo import analyse_file

    results = []
    with progress(len(files), "reading photos") as bar:
        for path in files:
            result = analyse_file(path, run_ocr=not no_ocr)
            results.append(result)
            if json_out:
                emit_json(result.as_json())
            bar.advance(bar.task_ids[0])
    if not json_out:
        table = Table("file", "gps", "taken", "qr", "indicators", "error")
        for r in results:
            gps = f"{r.gps['lat']:.6f},{r.gps['lon']:.6f}" if r.gps else "-"
            table.add_row(safe(r.file, 40), gps, r.taken_at or "-", safe(" ".join(r.qr), 40),
                          safe(", ".join(i["normalized"] for i in r.indicators), 60), safe(r.error, 40))  # fmt: skip
        out.print(table)
    failed = sum(1 for r in results if r.error)
    if failed:
        err.print(f"{failed} of {len(results)} photo(s) had problems (see error)")
