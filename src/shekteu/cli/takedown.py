"""`shekteu takedown`, `shekteu blocklist` and `shekteu dossier`: thin commands over the takedown library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

td_app = typer.Typer(no_args_is_help=True, help="Takedowns: propose, approve (four eyes), send, re-check.")
app.add_typer(td_app, name="takedown")

AsUser = Annotated[str, typer.Option("--as", help="Acting user (see `shekteu users`).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded with the step).")]
CaptureOpt = Annotated[list[int] | None, typer.Option("--capture", help="Evidence capture id (repeatable).")]


def _errors():
    from shekteu.shops.edit import ShopError
    from shekteu.takedown.blocklist import BlocklistError
    from shekteu.takedown.lifecycle import TakedownError
    from shekteu.users import UserError as AccountError

    return (TakedownError, AccountError, ShopError, BlocklistError)


def _step(fn, *args, json_out: bool, with_cards: bool = False, **kwargs) -> None:
    from shekteu.takedown.lifecycle import takedown_json

    rt = open_runtime()
    if with_cards:
        kwargs["cards"] = rt.card_policy
    try:
        with rt.db.write() as session:
            done = fn(session, *args, **kwargs)
            data = takedown_json(done.takedown)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(data)
    else:
        out.print(
            f"takedown {data['id']}: {data['target_type']} {safe(data['target'])} → {data['recipient']}: "
            f"[bold]{data['state']}[/]" + (f" (shop {data['shop_id']})" if data["shop_id"] else "")
        )


@td_app.command("propose")
def td_propose(
    target_type: Annotated[
        str,
        typer.Argument(
            help="url, domain, telegram_channel, telegram_bot, telegram_account, bank_card, wallet."
        ),
    ],
    target: Annotated[str, typer.Argument(help="The address, name, card (masked) or wallet.")],
    actor: AsUser,
    reason: ReasonOpt,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="regulator, telegram, bank, hosting.")
    ] = None,
    shop: Annotated[
        int | None, typer.Option("--shop", help="Shop id (found from the target if omitted).")
    ] = None,
    capture: CaptureOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Propose a takedown; a second user with the approver role must approve it."""
    from shekteu.takedown.lifecycle import propose

    _step(
        propose,
        target_type,
        target,
        actor=actor,
        reason=reason,
        recipient=recipient,
        shop_id=shop,
        captures=capture or [],
        json_out=json_out,
        with_cards=True,
    )


@td_app.command("approve")
def td_approve(takedown_id: int, actor: AsUser, reason: ReasonOpt, json_out: JsonOpt = False) -> None:
    """Approve a proposed takedown (approver role; not the proposer)."""
    from shekteu.takedown.lifecycle import approve

    _step(approve, takedown_id, actor=actor, reason=reason, json_out=json_out)


@td_app.command("reject")
def td_reject(takedown_id: int, actor: AsUser, reason: ReasonOpt, json_out: JsonOpt = False) -> None:
    """Reject a proposed or approved takedown (approver role)."""
    from shekteu.takedown.lifecycle import reject

    _step(reject, takedown_id, actor=actor, reason=reason, json_out=json_out)


@td_app.command("mark")
def td_mark(
    takedown_id: int,
    state: Annotated[str, typer.Argument(help="sent, blocked, verified, rejected or reappeared.")],
    actor: AsUser,
    reason: ReasonOpt,
    capture: CaptureOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record an outside fact about a takedown (sent by hand, blocked, refused …)."""
    from shekteu.takedown.lifecycle import mark

    _step(mark, takedown_id, state, actor=actor, reason=reason, captures=capture or [], json_out=json_out)


@td_app.command("list")
def td_list(
    state: Annotated[str | None, typer.Option("--state", help="Only takedowns in this state.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List takedowns."""
    from shekteu.takedown.lifecycle import list_takedowns, takedown_json

    rt = open_runtime()
    try:
        with rt.db.read() as session:
            rows = [takedown_json(t) for t in list_takedowns(session, state)]
    except _errors() as exc:
        raise UserError(str(exc)) from None
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "state", "type", "target", "recipient", "shop", "proposed", "approved", "last check")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["state"],
            r["target_type"],
            safe(r["target"], 60),
            r["recipient"],
            str(r["shop_id"] or "-"),
            r["proposed_by"],
            r["approved_by"] or "-",
            r["check_result"] or "-",
        )
    out.print(table)


@td_app.command("show")
def td_show(takedown_id: int, json_out: JsonOpt = False) -> None:
    """One takedown with its full history (who, when, why, evidence)."""
    from shekteu.takedown.lifecycle import get, history_json

    rt = open_runtime()
    try:
        with rt.db.read() as session:
            data = history_json(session, get(session, takedown_id))
    except _errors() as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(data)
        return
    out.print(
        f"takedown {data['id']}: {data['target_type']} {safe(data['target'])} → {data['recipient']}: {data['state']}"
    )
    for e in data["events"]:
        out.print(
            f"  {e['at'][:19]}  {safe(e['actor'])}: {e['from'] or '-'} → {e['to']}  {safe(e['reason'], 80)}"
            + (f"  captures {e['captures']}" if e["captures"] else "")
        )


@td_app.command("recheck")
def td_recheck(
    takedown_id: Annotated[list[int] | None, typer.Argument(help="Only these takedowns.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Capture every sent or blocked target again; move it on when blocked, gone or back."""
    from shekteu.takedown.lifecycle import stats
    from shekteu.takedown.recheck import recheck

    rt = open_runtime()
    with progress(None, "re-checking") as bar:
        results = recheck(rt, takedown_ids=takedown_id, on_done=lambda _r: bar.advance(bar.task_ids[0]))
    with rt.db.read() as session:
        figures = stats(session)
    if json_out:
        for r in results:
            emit_json(r.as_json())
        emit_json({"stats": figures})
        return
    table = Table("takedown", "target", "check", "state", "why")
    for r in results:
        moved = r.state_before if r.state_after == r.state_before else f"{r.state_before} → {r.state_after}"
        table.add_row(str(r.takedown_id), safe(r.target, 50), r.verdict, moved, safe(r.why, 70))
    out.print(table)
    ttt = figures["time_to_takedown_hours"]
    out.print(
        f"time to takedown (sent → blocked): median {ttt['median']} h over {ttt['n']}; "
        f"reappearance rate {figures['reappearance_rate']}"
    )


@td_app.command("stats")
def td_stats() -> None:
    """Takedowns by state, time to takedown and reappearance rate (JSON)."""
    from shekteu.takedown.lifecycle import stats

    rt = open_runtime()
    with rt.db.read() as session:
        emit_json(stats(session))


@td_app.command("export")
def td_export(
    to: Annotated[str, typer.Option("--to", help="regulator, telegram, bank or hosting.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    actor: Annotated[str | None, typer.Option("--as", help="User sending the requests.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
) -> None:
    """Approved takedowns for one recipient, not yet sent; exporting marks them sent."""
    from shekteu.takedown.requests import export_requests

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            text, ids = export_requests(session, to, fmt, actor=actor)
            _write(text, out_path)  # inside the transaction: a failed write leaves them approved
    except _errors() as exc:
        raise UserError(str(exc)) from None
    err.print(f"{len(ids)} takedown(s) exported to {to} and marked sent")


def _write(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


@app.command("blocklist")
def blocklist_cmd(
    fmt: Annotated[str, typer.Option("--format", help="hosts, rpz, csv, stix or misp.")] = "hosts",
    out_path: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    min_score: Annotated[float, typer.Option("--min-score", help="Only shops scoring at least this.")] = 0.0,
    zone: Annotated[str, typer.Option("--zone", help="RPZ zone name.")] = "rpz.shekteu.local.",
) -> None:
    """The shops' identifiers as a blocklist (warninglisted platforms left out)."""
    from shekteu.takedown.blocklist import blocklist

    rt = open_runtime()
    try:
        with rt.db.read() as session:
            text = blocklist(session, fmt, min_score=min_score, zone=zone)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise UserError(
            f"--format {fmt} needs the export extra: pip install 'shekteu[export]' ({exc.name} missing)"
        ) from None
    _write(text, out_path)


@app.command("dossier")
def dossier_cmd(
    shop_id: Annotated[int, typer.Argument(help="Shop id.")],
    out_path: Annotated[Path, typer.Option("--out", help="New folder, or a path ending in .zip.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the PDF summary: ru or kk.")] = "ru",
    json_out: JsonOpt = False,
) -> None:
    """A shop's dossier for a criminal case: WARC captures, custody log, PDF summary, SHA-256 manifest."""
    if lang not in ("ru", "kk"):
        raise UserError(f"--lang {lang!r}: ru or kk")
    from shekteu.dossier.build import DossierError, build_dossier

    rt = open_runtime()
    try:
        summary = build_dossier(rt, shop_id, out_path, lang=lang)
    except DossierError as exc:
        raise UserError(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise UserError(
            f"the dossier needs the export extra: pip install 'shekteu[export]' ({exc.name} missing)"
        ) from None
    if json_out:
        emit_json(summary.as_json())
    else:
        out.print(
            f"dossier {safe(summary.path)}: {summary.files} files, {summary.bytes} bytes, "
            f"{summary.captures} captures; manifest sha256 {summary.manifest_sha256}"
        )
