"""`shekteu demo`: load a small living platform into the data directory (``shekteu.demo``)."""

from __future__ import annotations

from rich.table import Table

from shekteu.cli.common import JsonOpt, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

STEPS = 7


@app.command("demo")
def demo_cmd(json_out: JsonOpt = False) -> None:
    """Load demo shops, reports, wall photos, zones, field sites, takedowns and users (printed once)."""
    from shekteu.demo.load import load

    rt = open_runtime()
    try:
        with progress(STEPS, "demo") as bar:
            def step(name: str) -> None:
                bar.update(bar.task_ids[0], advance=1, description=f"demo: {name}")

            summary = load(rt, on_step=step)
        where = rt.settings.data_dir
    finally:
        rt.close()
    if json_out:
        emit_json(summary.as_json())
        return
    if not summary.loaded:
        out.print(f"the demo is already in {safe(str(where))} (its passwords were printed when it was loaded; "
                  "set new ones with: shekteu users password NAME)")  # fmt: skip
        return
    table = Table("user", "role", "password")
    roles = dict(__import__("shekteu.demo.content", fromlist=["USERS"]).USERS)
    for name, password in summary.users.items():
        table.add_row(name, roles[name], password)
    out.print(table)
    out.print("loaded: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.counts.items()))
    for note in summary.skipped:
        err.print(f"skipped: {safe(note)}")
    out.print("next: [bold]shekteu serve[/] and sign in at http://127.0.0.1:8000/dash with a user above "
              "(the passwords are shown only now)")  # fmt: skip
