"""`shekteu photo`: read wall photos (thin command over ``shekteu.street.photo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli.common import JsonOpt, app
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


spots_app = typer.Typer(no_args_is_help=True, help="Graffiti spots: routed to zones, painted over, verified.")
zones_app = typer.Typer(no_args_is_help=True, help="Zones of responsibility (КСК/ОСИ, volunteers, police).")
app.add_typer(spots_app, name="spots")
app.add_typer(zones_app, name="zones")
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audit log).")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (default: the local account).")]


def _change(fn, *args, **kwargs) -> dict:
    from shekteu import audit
    from shekteu.cli.common import UserError, open_runtime
    from shekteu.street.spots import SpotError, spot_json

    rt = open_runtime()
    actor = kwargs.pop("actor", None) or audit.current_actor()
    try:
        with rt.db.write() as session:
            return spot_json(fn(session, *args, actor=actor, **kwargs))
    except SpotError as exc:
        raise UserError(str(exc)) from None


def _show(row: dict, json_out: bool) -> None:
    if json_out:
        emit_json(row)
    else:
        out.print(f"spot {row['id']}: {row['status']} ({safe(', '.join(row['indicators']) or '-')})")


@spots_app.command("list")
def spots_list(
    json_out: JsonOpt = False,
    status: Annotated[str | None, typer.Option("--status", help="Only spots in this status.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only assigned spots past their due date.")
    ] = False,
) -> None:
    """List graffiti spots."""
    from shekteu.cli.common import open_runtime
    from shekteu.street.spots import list_spots

    rt = open_runtime()
    with rt.db.read() as session:
        rows = list_spots(session, status=status, overdue=overdue)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "status", "where", "district", "zone / team", "reports", "indicators", "overdue")
    for r in rows:
        table.add_row(str(r["id"]), r["status"], f"{r['lat']:.5f},{r['lon']:.5f}", safe(r["district"] or "-"),
                      safe(r["assigned_to"] or r["zone"] or "-"), str(r["reports"]), safe(", ".join(r["indicators"]), 50),
                      "OVERDUE" if r["overdue"] else "")  # fmt: skip
    out.print(table)


@spots_app.command("verify")
def spots_verify(spot_id: int, reason: ReasonOpt, actor: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Confirm a reported spot is real drug advertising."""
    from shekteu.street.spots import verify

    _show(_change(verify, spot_id, reason=reason, actor=actor), json_out)


@spots_app.command("assign")
def spots_assign(
    spot_id: int,
    reason: ReasonOpt,
    team: Annotated[str | None, typer.Option("--team", help="Team (default: the spot's zone).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, help="Days until overdue.")] = 7,
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Assign a verified spot to its zone's team (or --team) with a due date."""
    from shekteu.street.spots import assign

    _show(_change(assign, spot_id, reason=reason, team=team, days=days, actor=actor), json_out)


@spots_app.command("paint")
def spots_paint(
    spot_id: int,
    photo: Annotated[Path, typer.Option("--photo", help="The after-photo (with GPS and time).")],
    reason: ReasonOpt = "painted over",
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark a spot painted: the after-photo must be near, later, and show no readable handle."""
    from shekteu.cli.common import UserError, open_runtime
    from shekteu.street.photo import analyse_file
    from shekteu.street.spots import paint

    result = analyse_file(photo)
    data = result.as_json()
    if result.error is None or result.gps:
        try:
            data["sha256"] = open_runtime().store.put_blob(photo.read_bytes())
        except OSError as exc:
            raise UserError(f"cannot read {photo}: {exc.strerror}") from None
    _show(_change(paint, spot_id, data, reason=reason, actor=actor), json_out)


@spots_app.command("confirm")
def spots_confirm(spot_id: int, reason: ReasonOpt, actor: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Confirm a painted spot (after looking at the after-photo)."""
    from shekteu.street.spots import confirm

    _show(_change(confirm, spot_id, reason=reason, actor=actor), json_out)


@spots_app.command("export")
def spots_export(
    fmt: Annotated[str, typer.Option("--format", help="geojson, kml or csv.")] = "geojson",
    public: Annotated[
        bool, typer.Option("--public", help="Round positions (~100 m), no assignments.")
    ] = False,
    out_path: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
) -> None:
    """Spots as GeoJSON, KML or CSV (never photos, so never EXIF)."""
    from shekteu.cli.common import UserError, open_runtime
    from shekteu.cli.takedown import _write
    from shekteu.street.exports import render
    from shekteu.street.spots import list_spots

    rt = open_runtime()
    with rt.db.read() as session:
        rows = list_spots(session, public=public)
    try:
        _write(render(rows, fmt), out_path)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@spots_app.command("hotspots")
def spots_hotspots(
    resolution: Annotated[int, typer.Option("--resolution", min=0, max=15, help="H3 resolution.")] = 8,
) -> None:
    """Spot counts per H3 cell, biggest first (JSON lines)."""
    from shekteu.cli.common import open_runtime
    from shekteu.street.exports import hotspots
    from shekteu.street.spots import list_spots

    rt = open_runtime()
    with rt.db.read() as session:
        rows = list_spots(session)
    for cell in hotspots(rows, resolution):
        emit_json(cell)


@zones_app.command("import")
def zones_import(
    path: Path,
    kind: Annotated[str, typer.Option("--kind", help="ksk, osi, volunteers, police or district.")],
    name_property: Annotated[
        str, typer.Option("--name-property", help="Feature property with the name.")
    ] = "name",
    actor: AsOpt = None,
) -> None:
    """Import zone polygons from a GeoJSON file (a zone with the same kind and name is replaced)."""
    from shekteu import audit
    from shekteu.cli.common import UserError, open_runtime
    from shekteu.geo.boundaries import BoundaryError
    from shekteu.street.zones import import_zones

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            names = import_zones(session, path, kind=kind, name_property=name_property,
                                 actor=actor or audit.current_actor())  # fmt: skip
    except BoundaryError as exc:
        raise UserError(str(exc)) from None
    out.print(f"{len(names)} zone(s) imported: {safe(', '.join(names[:10]))}")
