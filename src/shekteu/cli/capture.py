"""Capture, import, items and database commands of the `shekteu` CLI, and `version` and `settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shekteu import __version__
from shekteu.cli.common import JsonOpt, NoWaitOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")
import_app = typer.Typer(no_args_is_help=True, help="Import data from files.")
items_app = typer.Typer(no_args_is_help=True, help="Items: pages and posts collected for analysis.")
captures_app = typer.Typer(no_args_is_help=True, help="Captures: the evidence record of every fetch.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(items_app, name="items")
app.add_typer(captures_app, name="captures")


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command("settings")
def show_settings() -> None:
    """List every SHEKTEU_* setting with its default and meaning."""
    from shekteu.settings import describe

    table = Table("variable", "default", "meaning")
    for name, default, help_text in describe():
        table.add_row(name, safe(default), safe(help_text, one_line=False))
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations (they also run on every start)."""
    from shekteu.db import upgrade

    rt = open_runtime()
    out.print(f"database at revision {upgrade(rt.db.engine)}")


@app.command()
def capture(
    urls: Annotated[list[str] | None, typer.Argument(help="URLs to capture.")] = None,
    telegram: Annotated[str | None, typer.Option("--telegram", help="Public Telegram channel.")] = None,
    pages: Annotated[int | None, typer.Option("--pages", min=1, help="t.me/s pages to read.")] = None,
    no_wait: NoWaitOpt = False,
    screenshot: Annotated[bool | None, typer.Option(
        "--screenshot/--no-screenshot",
        help="Also store each page's images and style sheets and a screenshot drawn from them "
        "(default: on where Chromium is installed).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Capture web pages (WARC + SHA-256, text, language) or a public Telegram channel."""
    if telegram:
        if urls:
            raise UserError("give URLs or --telegram CHANNEL, not both")
        _capture_channel(telegram, pages, json_out, wait=not no_wait)
        return
    if not urls:
        raise UserError("nothing to capture: give one or more URLs, or --telegram CHANNEL")
    from shekteu.capture.web import capture_urls

    rt = open_runtime()
    if no_wait:
        from shekteu.queue import handoffs

        with rt.db.write() as s:
            job = handoffs.urls_to_capture(s, list(urls), screenshot=screenshot)
        if json_out:
            emit_json({"job": job, "urls": len(urls)})
        else:
            out.print(f"queued capture job {job} ({len(urls)} URLs); a worker runs it (shekteu queue)")
        return
    with progress(len(urls), "capturing") as bar:
        outcomes = capture_urls(rt, urls, on_done=lambda _o: bar.advance(bar.task_ids[0]), screenshot=screenshot)
    if json_out:
        for o in outcomes:
            emit_json(o.as_json())
    else:
        table = Table("id", "status", "lang", "chars", "sha256", "changed", "title / error", "url")
        for o in outcomes:
            changed = "" if o.changed is None else ("changed" if o.changed else "same")
            note = f"[red]{safe(o.error, 60)}[/]" if o.error else safe(o.title, 50)
            table.add_row(
                str(o.id),
                str(o.status or "-"),
                o.lang or "-",
                str(o.text_chars),
                (o.sha256 or "-")[:12],
                changed,
                note,
                safe(o.final_url or o.url, 60),
            )
        out.print(table)
    failures = [o for o in outcomes if o.error]
    for o in failures:
        err.print(f"failed: {safe(o.url)}: {safe(o.error)}")
    if failures:
        raise typer.Exit(2)


def _capture_channel(channel: str, pages: int | None, json_out: bool, *, wait: bool = True) -> None:
    from shekteu.capture.telegram_web import ChannelError, capture_channel

    rt = open_runtime()
    total = pages or rt.settings.telegram_pages
    try:
        with progress(total, f"t.me/s/{channel}") as bar:
            run = capture_channel(
                rt, channel, pages=pages, on_page=lambda r: bar.update(bar.task_ids[0], completed=r.pages),
                wait=wait,
            )
    except ChannelError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        for post in run.new_posts:
            data = post.as_json()
            emit_json(
                {k: data[k] for k in ("channel", "post_id", "permalink", "date", "text", "links", "views")}
            )
    else:
        table = Table("post", "date", "views", "text", "links")
        for post in run.new_posts:
            table.add_row(
                safe(post.permalink),
                post.date.strftime("%Y-%m-%d %H:%M") if post.date else "-",
                str(post.views or "-"),
                safe(post.text, 70),
                str(len(post.links)),
            )
        out.print(table)
    err.print(f"{run.channel}: {run.pages} page(s), {run.seen} posts seen, {len(run.new_posts)} new")
    if run.error:
        raise UserError(run.error)


@import_app.command("telegram-export")
def import_telegram_export(
    path: Annotated[Path, typer.Argument(help="result.json from Telegram Desktop, or its folder.")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="The channel's public @name, for t.me permalinks.")
    ] = None,
    no_wait: NoWaitOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Import a Telegram Desktop JSON export; a rerun adds only what is missing."""
    from shekteu.capture.telegram_export import ExportError, import_export
    from shekteu.capture.telegram_web import ChannelError

    rt = open_runtime()
    try:
        summary = import_export(rt, path, channel=channel, wait=not no_wait)
    except (ExportError, ChannelError) as exc:
        raise UserError(str(exc)) from None
    for problem in summary.problems[:20]:
        err.print(f"skipped: {safe(problem)}")
    if json_out:
        emit_json(summary.as_json())
    else:
        out.print(
            f"{summary.items} items: {summary.new} new, {summary.duplicates} duplicates, {summary.skipped} skipped"
        )


@items_app.command("list")
def items_list(
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most items shown, newest first.")] = 50,
    kind: Annotated[str | None, typer.Option("--kind", help="web_page or telegram_post.")] = None,
) -> None:
    """List collected items, newest first."""
    from shekteu.analysis import latest_verdicts
    from shekteu.items import item_json, list_items

    rt = open_runtime()
    with rt.db.read() as session:
        items = list_items(session, limit=limit, kind=kind)
        verdicts = latest_verdicts(session, [i.id for i in items])
        rows = [item_json(i) | {"verdict": verdicts.get(i.id)} for i in items]
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "kind", "date", "lang", "verdict", "url", "text")
    for row in rows:
        verdict = row["verdict"]
        shown = "-"
        if verdict:
            colour = "red" if verdict["label"] in ("sale", "recruit") else "green"
            shown = f"[{colour}]{verdict['label']}[/] {verdict['score']:.2f}"
        table.add_row(
            str(row["id"]),
            row["kind"],
            (row["published_at"] or row["first_seen_at"])[:16],
            row["lang"] or "-",
            shown,
            safe(row["url"], 50),
            safe(row["title"] or row["text"], 60),
        )
    out.print(table)


@captures_app.command("list")
def captures_list(
    url: Annotated[str | None, typer.Option("--url", help="Only captures of this URL (its history).")] = None,
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """List captures newest first; with --url, a page's snapshots and whether each changed."""
    from shekteu.capture.history import capture_json, list_captures

    rt = open_runtime()
    with rt.db.read() as session:
        rows = [capture_json(c, rt.settings.data_dir) for c in list_captures(session, url=url, limit=limit)]
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "fetched", "status", "sha256", "changed", "prev", "url / error")
    for row in rows:
        changed = "" if row["changed"] is None else ("changed" if row["changed"] else "same")
        table.add_row(
            str(row["id"]),
            row["fetched_at"][:19],
            str(row["status"] or "-"),
            (row["sha256"] or "-")[:12],
            changed,
            str(row["previous_id"] or ""),
            safe(row["error"] or row["url"], 70),
        )
    out.print(table)
