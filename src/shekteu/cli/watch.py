"""`shekteu watch`: pages and channels re-captured on a schedule (issue 24); `shekteu captures history`.
The work is in ``shekteu.capture.watch`` and ``shekteu.capture.history``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli.capture import captures_app
from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.cli.shops import ReasonOpt
from shekteu.terminal import emit_json, out, safe

watch_app = typer.Typer(no_args_is_help=True, help="Watched pages and channels: re-captured on a schedule.")
app.add_typer(watch_app, name="watch")


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@watch_app.command("add")
def add_cmd(
    target: Annotated[str, typer.Argument(help="A URL, or a public Telegram channel (@name or t.me/name).")],
    every: Annotated[str, typer.Option("--every", help="How often: 30m, 6h, 1d, 1w (at least 5m).")],
    until_verified: Annotated[bool, typer.Option("--until-verified", help="Stop once a takedown of it is verified.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Watch a page or channel: captured now (by the worker) and again every interval."""
    from shekteu import audit
    from shekteu.capture.watch import WatchError, add, watch_json

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            row = watch_json(add(s, target, every, until_verified=until_verified, actor=audit.current_actor()))
    except WatchError as exc:
        raise UserError(str(exc)) from None
    finally:
        rt.close()
    if json_out:
        emit_json(row)
    else:
        until = ", until its takedown is verified" if row["until_verified"] else ""
        out.print(f"watch {row['id']}: {safe(row['target'])} every {_every(row['every_seconds'])}{until}; "
                  "a worker captures it (shekteu worker, or serve's own)")  # fmt: skip


@watch_app.command("list")
def list_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Stopped watches too.")] = False, json_out: JsonOpt = False
) -> None:
    """Watched pages and channels, next due first."""
    from shekteu.capture.watch import listing, watch_json

    rt = open_runtime()
    try:
        with rt.db.read() as s:
            rows = [watch_json(w) for w in listing(s, all_=all_)]
    finally:
        rt.close()
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "target", "every", "next", "captures", "last", "state")
    for r in rows:
        state = "active" if r["active"] else f"stopped: {r['stopped_reason']}"
        table.add_row(str(r["id"]), safe(r["target"]), _every(r["every_seconds"]), r["next_at"][:16].replace("T", " "),
                      str(r["captures"]), str(r["last_capture_id"] or "-"), safe(state, 60))  # fmt: skip
    out.print(table if rows else "no watches (shekteu watch add URL --every 6h)")


@watch_app.command("stop")
def stop_cmd(ref: Annotated[str, typer.Argument(help="Watch id or its target.")], reason: ReasonOpt = "") -> None:
    """Stop watching (audited; the captures stay)."""
    from shekteu import audit
    from shekteu.capture.watch import WatchError, stop

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            watch = stop(s, ref, actor=audit.current_actor(), reason=reason)
            wid, target = watch.id, watch.target
    except WatchError as exc:
        raise UserError(str(exc)) from None
    finally:
        rt.close()
    out.print(f"watch {wid} ({safe(target)}) stopped")


@watch_app.command("run")
def run_cmd(json_out: JsonOpt = False) -> None:
    """Capture every due watch now, here (what the worker does each minute)."""
    from shekteu.capture.watch import queue_due
    from shekteu.queue.worker import run_jobs

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            jobs = queue_due(s)
        run = run_jobs(rt, jobs) if jobs else None
    finally:
        rt.close()
    if json_out:
        emit_json({"jobs": jobs, **(run.as_json() if run else {})})
    else:
        out.print(f"{len(jobs)} due watches captured" if jobs else "no watch is due")


@captures_app.command("history")
def history_cmd(
    url: Annotated[str, typer.Argument(help="The page's URL.")],
    diff: Annotated[bool, typer.Option("--diff/--no-diff", help="Show the text changes between snapshots.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """A page's snapshots oldest first: changed, down, back, moved — with the text diff."""
    from shekteu.capture.history import timeline

    rt = open_runtime()
    try:
        with rt.db.read() as s:
            rows = timeline(s, url)
    except ValueError as exc:
        raise UserError(f"{url!r}: {exc}") from None
    finally:
        rt.close()
    if not rows:
        raise UserError(f"no captures of {url}")
    if json_out:
        for row in rows:
            emit_json(row)
        return
    for r in rows:
        status = r["error"] or r["status"]
        out.print(f"[bold]capture {r['id']}[/] {r['fetched_at'][:19].replace('T', ' ')}  {safe(status)}  "
                  f"{', '.join(r['events'])}" + (f"  → {safe(r['final_url'])}" if "moved" in r["events"] else ""))  # fmt: skip
        if diff:
            for line in r["diff"][2:]:
                colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                out.print(f"  [{colour}]{safe(line, 200)}[/]")
