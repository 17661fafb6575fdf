"""`shekteu tips`: the citizen-report queue for staff (thin commands over ``shekteu.tips``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, out, progress, safe

tips_app = typer.Typer(no_args_is_help=True, help="Citizen tips: the report queue, statuses, processing.")
app.add_typer(tips_app, name="tips")


@tips_app.command("list")
def tips_list(
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most tips shown, newest first.")] = 100,
    status: Annotated[str | None, typer.Option("--status", help="Only tips in this status.")] = None,
) -> None:
    """List tips, newest first."""
    from shekteu.tips.query import list_tips

    rt = open_runtime()
    with rt.db.read() as session:
        rows = list_tips(session, limit=limit, status=status)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("ticket", "kind", "channel", "status", "score", "duplicate of", "where", "text")
    for r in rows:
        where = f"{r['lat']:.5f},{r['lon']:.5f}" if r["lat"] is not None else "-"
        score = "-" if r["score"] is None else f"{r['score']:.2f}"
        table.add_row(r["ticket"], r["kind"], r["channel"], r["status"], score, r["duplicate_of"] or "", where,
                      safe(r["text"], 60))  # fmt: skip
    out.print(table)


@tips_app.command("show")
def tips_show(ticket: str, json_out: JsonOpt = False) -> None:
    """One tip for staff: text, indicators, photos (hashes), location, public status."""
    from shekteu.tips.query import show_tip
    from shekteu.tips.status import TipStatusError, get_tip

    rt = open_runtime()
    try:
        with rt.db.read() as session:
            data = show_tip(session, get_tip(session, ticket))
    except TipStatusError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(data)
        return
    for key, value in data.items():
        out.print(f"{key}: {safe(value, 200)}")


@tips_app.command("status")
def tips_status(
    ticket: str,
    status: Annotated[str, typer.Argument(help="in_review, actioned, closed or rejected.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log; staff only).")],
    public: Annotated[
        str | None, typer.Option("--public", help="Text the reporter sees (default per status).")
    ] = None,
    actor: Annotated[str | None, typer.Option("--as", help="Acting user.")] = None,
) -> None:
    """Change a tip's status; the reporter is notified through their channel."""
    from shekteu import audit
    from shekteu.tips.status import TipStatusError, set_status

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            tip = set_status(session, ticket, status, actor=actor or audit.current_actor(), reason=reason,
                             public_text=public)  # fmt: skip
            shown = f"{tip.ticket}: {tip.status} ({tip.public_status})"
    except TipStatusError as exc:
        raise UserError(str(exc)) from None
    out.print(safe(shown))


@tips_app.command("process")
def tips_process(
    json_out: JsonOpt = False,
    no_capture: Annotated[bool, typer.Option("--no-capture", help="Do not fetch the tips' links.")] = False,
) -> None:
    """Capture, classify and de-duplicate received tips (the server does this as tips arrive)."""
    from shekteu.tips.process import process_pending

    rt = open_runtime()
    with progress(None, "processing tips") as bar:
        def moved(done: int, known: int) -> None:
            bar.update(bar.task_ids[0], completed=done, total=known)

        processed = process_pending(rt, capture=not no_capture, on_job=moved)
    for r in processed:
        if json_out:
            emit_json(r.__dict__)
        else:
            out.print(
                f"{r.ticket}: score {r.score}, duplicate of {r.duplicate_of or '-'}, {r.captured} captured"
            )


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Listen address (default SHEKTEU_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default SHEKTEU_PORT).")] = None,
) -> None:
    """Serve the citizen web form, Open311 GeoReport v2 and the WhatsApp webhook."""
    try:
        import uvicorn  # noqa: F401  (the web extra is there)

        from shekteu.web.app import create_app
    except ModuleNotFoundError as exc:
        raise UserError(
            f"serving needs the web extra: pip install 'shekteu[web]' ({exc.name} missing)"
        ) from None
    from shekteu.children import worker_process
    from shekteu.web.server import run

    rt = open_runtime()
    # The job worker runs beside the server as a child process: in the server's own threads it
    # would share one interpreter lock with every request (SHEKTEU_EMBEDDED_WORKER=false: none).
    worker = worker_process() if rt.settings.embedded_worker else None
    where, number = host or rt.settings.host, port or rt.settings.port
    shown = f"[{where}]" if ":" in where else ("127.0.0.1" if where in ("0.0.0.0", "") else where)  # noqa: S104
    out.print(f"dashboard: http://{shown}:{number}/dash  (citizen form: http://{shown}:{number}/)")
    try:
        run(create_app(rt, embedded_worker=False), rt.settings, where, number)
    finally:
        if worker is not None:
            worker.terminate()  # SIGTERM: it stops after its running jobs
            worker.wait(120)


bot_app = typer.Typer(invoke_without_command=True, help="The Telegram bot: run it, or try it in the terminal.")
app.add_typer(bot_app, name="bot")


@bot_app.callback()
def bot_cmd(
    ctx: typer.Context,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="Register SHEKTEU_PUBLIC_URL/webhooks/telegram with "
            "Telegram and exit (then `shekteu serve` receives the updates).",
        ),
    ] = False,
) -> None:
    """Run the Telegram bot with long polling (or switch it to webhook mode); `bot simulate` to try it."""
    import asyncio

    if ctx.invoked_subcommand is not None:
        return

    try:
        from shekteu.integrations.telegram.client import TelegramBot
    except ModuleNotFoundError as exc:
        raise UserError(
            f"the bot needs the bot extra: pip install 'shekteu[bot]' ({exc.name} missing)"
        ) from None
    rt = open_runtime()
    if rt.settings.telegram_token is None:
        raise UserError("SHEKTEU_TELEGRAM_TOKEN is not set (get one from @BotFather)")
    bot = TelegramBot(rt)
    if webhook:
        url = f"{rt.settings.public_url}/webhooks/telegram"
        asyncio.run(bot.set_webhook(url))
        out.print(f"webhook set to {url}")
        return
    out.print("bot running (long polling); Ctrl-C stops it")
    try:
        asyncio.run(bot.run_polling())
    except KeyboardInterrupt:
        pass


@bot_app.command("simulate")
def simulate_cmd(
    lang: Annotated[str, typer.Option("--lang", help="The reporter's Telegram language: ru, kk or en.")] = "ru",
) -> None:
    """Chat with the real bot here, over a built-in local Bot API (no Telegram, no token needed).

    Type a message, a link or @handle of a shop; `/photo PATH` sends a picture as a file, `/location
    LAT LON` a place, `/status TICKET` asks about a report, `/quit` ends. Lines can also be piped in."""
    import sys

    try:
        from shekteu.integrations.telegram.simulate import chat
    except ModuleNotFoundError as exc:
        raise UserError(f"the bot needs the bot extra: pip install 'shekteu[bot]' ({exc.name} missing)") from None
    if lang not in ("ru", "kk", "en"):
        raise UserError(f"--lang {lang!r}: ru, kk or en")
    rt = open_runtime()
    interactive = sys.stdin.isatty()
    if interactive:
        out.print("[bold]Shekteu bot, simulated[/] — type as a reporter would; /photo PATH, /location LAT LON, "
                  "/status TICKET, /quit. Reports land in the data directory (see them with shekteu serve).")  # fmt: skip

    def lines() -> Iterator[str]:
        while True:
            if interactive:
                out.print("[cyan]you>[/] ", end="")
            line = sys.stdin.readline()
            if not line:
                return
            if not interactive:
                out.print(f"you> {safe(line.strip())}")
            yield line

    def show(who: str, text: str) -> None:
        colour = "green" if who == "bot" else "red"
        for n, part in enumerate(text.splitlines() or [""]):
            out.print(f"[{colour}]{who}>[/] {safe(part)}" if n == 0 else f"     {safe(part)}")

    try:
        chat(rt, lines(), show, lang=lang)
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    finally:
        rt.close()
