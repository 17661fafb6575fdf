"""`shekteu evidence` and `shekteu audit`: packages, trusted timestamps and offline checks (issue 24).
The work is in ``shekteu.evidence`` and ``shekteu.audit_check``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, safe

evidence_app = typer.Typer(no_args_is_help=True, help="Evidence packages (WACZ), trusted timestamps, offline checks.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log: check it end to end.")
app.add_typer(evidence_app, name="evidence")
TSA_CA_HELP = "PEM of the TSA root to trust (default SHEKTEU_TSA_CA_FILE, else the one a dossier carries)."
app.add_typer(audit_app, name="audit")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since {value!r}: not a date (YYYY-MM-DD or an ISO time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@evidence_app.command("export")
def export_cmd(
    out_path: Annotated[Path, typer.Option("--out", help="The .wacz file to write (must not exist).")],
    shop: Annotated[int | None, typer.Option("--shop", help="Every capture of this shop and its takedowns.")] = None,
    capture: Annotated[list[int] | None, typer.Option("--capture", help="A capture id (repeat for more).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Every capture from this date (YYYY-MM-DD) on.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Package format (wacz).")] = "wacz",
    json_out: JsonOpt = False,
) -> None:
    """Package captures as a WACZ that ReplayWeb.page opens and `wacz validate` accepts."""
    from shekteu import audit
    from shekteu.dossier.build import shop_capture_ids
    from shekteu.evidence import wacz

    if fmt != "wacz":
        raise UserError(f"--format {fmt!r}: only wacz is supported")
    if sum(x is not None and x != [] for x in (shop, capture, since)) != 1:
        raise UserError("say which captures: exactly one of --shop ID, --capture ID…, --since DATE")
    moment = _since(since)
    rt = open_runtime()
    try:
        with rt.db.read() as session:
            ids = sorted(shop_capture_ids(session, shop)) if shop is not None else capture
            if shop is not None and not ids:
                raise UserError(f"shop {shop} has no captures (or does not exist)")
            captures = wacz.select_captures(session, ids=ids or None, since=moment)
            if capture:
                missing = sorted(set(capture) - {c.id for c in captures})
                if missing:
                    raise UserError(f"no capture with WARC records: {', '.join(map(str, missing))}")
        title = f"Shekteu shop {shop}" if shop is not None else "Shekteu captures"
        summary = wacz.build(rt.settings.data_dir, captures, out_path, title=title)
        with rt.db.write() as session:
            audit.record(session, "evidence.export", f"wacz:{summary.sha256[:16]}", reason="WACZ package of captures",
                         detail={**summary.as_json(), "capture_ids": [c.id for c in captures]})  # fmt: skip
    except wacz.WaczError as exc:
        raise UserError(str(exc)) from None
    finally:
        rt.close()
    if json_out:
        emit_json(summary.as_json())
    else:
        out.print(f"{safe(str(summary.path))}: {summary.captures} captures, {summary.records} records, "
            f"{summary.bytes:,} bytes, sha256 {summary.sha256}")  # fmt: skip


@evidence_app.command("timestamp")
def timestamp_cmd(json_out: JsonOpt = False) -> None:
    """Timestamp new captures, grown WARC files and the audit head with SHEKTEU_TSA_URL (RFC 3161)."""
    from shekteu.evidence.timestamps import TimestampError, stamp

    rt = open_runtime()
    try:
        result = stamp(rt)
    except TimestampError as exc:
        raise UserError(str(exc)) from None
    finally:
        rt.close()
    if json_out:
        emit_json(result.as_json() if result else {"id": None, "note": "nothing new to timestamp"})
    elif result is None:
        out.print("nothing new to timestamp")
    else:
        out.print(f"timestamp {result.id} at {result.gen_time:%Y-%m-%d %H:%M:%S} UTC: {result.captures} captures, "
            f"{result.warc_files} WARC files, audit head {result.audit_id}; statement {result.files[0]}")  # fmt: skip


@evidence_app.command("verify")
def verify_cmd(
    path: Annotated[Path, typer.Argument(help="A dossier (folder or .zip), a .wacz or a .warc.gz file.")],
    tsa_ca: Annotated[Path | None, typer.Option("--tsa-ca", help=TSA_CA_HELP)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check hashes, the custody chain and timestamps offline; exit 0 only when everything verifies."""
    from shekteu.evidence.verify import verify_path
    from shekteu.settings import SettingsError, load_settings

    stamp_dirs: list[Path] = []
    try:
        settings = load_settings()
        tsa_ca = tsa_ca or settings.tsa_ca_file
        stamp_dirs.append(Path(settings.data_dir) / "timestamps")
    except SettingsError:
        pass  # a reviewer's machine: no installation, only the files in hand
    report = verify_path(path, tsa_ca=tsa_ca, stamp_dirs=stamp_dirs)
    if json_out:
        emit_json(report.as_json())
    else:
        verdict = "verifies" if report.ok else "DOES NOT VERIFY"
        out.print(f"{safe(str(path))}: {verdict} — {report.files} files; hashes {_word(report.hashes_ok)}, "
            f"custody chain {_word(report.chain_ok)}, timestamps {_word(report.timestamps_ok)}")  # fmt: skip
        for stamp in report.stamps:
            out.print(f"  timestamp {stamp['gen_time']} by {safe(str(stamp['tsa']))} ({safe(stamp['statement'])})")
        for problem in report.problems:
            err.print(f"  {safe(problem)}")
    if not report.ok:
        raise typer.Exit(1)


def _word(value: bool | None) -> str:
    return {True: "ok", False: "FAILED", None: "n/a"}[value]


@audit_app.command("verify")
def audit_verify_cmd(json_out: JsonOpt = False) -> None:
    """Chain, seals, the witness file and every timestamped head; exit 1 when anything is wrong."""
    from shekteu.audit_check import check_runtime

    rt = open_runtime()
    try:
        report = check_runtime(rt)
    finally:
        rt.close()
    if json_out:
        emit_json(report.as_json())
    else:
        verdict = "intact" if report.ok else "TAMPERED"
        out.print(f"audit log {verdict}: {report.entries} entries ({report.sealed} sealed), last {report.last_id}, "
            f"witness {report.witness_id}, {report.anchors_checked} heads checked")  # fmt: skip
        for problem in report.problems:
            err.print(f"  {safe(problem)}")
        for note in report.notes:
            out.print(f"  note: {safe(note)}")
    if not report.ok:
        raise typer.Exit(1)
