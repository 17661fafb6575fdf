"""The `shekteu` command: a thin Typer adapter over the library, one module per command group.

Each command parses arguments, calls one library function and prints the result — a Rich table for
people, JSON Lines with ``--json`` for scripts. Problems the user can fix (bad settings, unreadable
files, failed fetches) end with a one-line message and exit code 2, never a traceback. The modules
import ``common`` only (and one another where a group extends another), never this package.
"""

from __future__ import annotations

from shekteu.cli import (  # noqa: F401  (importing registers their commands on the app)
    capture,
    demo,
    detect,
    evidence,
    field,
    model,
    posts,
    queue,
    seismic,
    shops,
    stats,
    street,
    takedown,
    tips,
    verdicts,
    watch,
)
from shekteu.cli.common import UserError, app
from shekteu.terminal import fail


def main() -> None:
    from shekteu.users import UserError as AccountError  # an unknown, disabled or unpermitted --as

    try:
        app()  # standalone: Typer prints usage errors and exits with their code
    except (UserError, AccountError) as exc:
        fail(str(exc))
        raise SystemExit(2) from None
