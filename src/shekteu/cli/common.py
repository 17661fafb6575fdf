"""What every command module of the `shekteu` CLI shares: the Typer app, common options, the one
error type users see, and opening the runtime (settings, database) with a one-line message on failure.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold secrets and hostile text
    help="Shekteu counter-narcotics platform.",
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON Lines instead of a table.")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Only queue the work (`shekteu worker` runs it); by "
                                         "default its jobs run here before the command prints.")]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def open_runtime():  # type: ignore[no-untyped-def]
    from shekteu.db import DatabaseError
    from shekteu.runtime import Runtime
    from shekteu.settings import SettingsError

    try:
        return Runtime.from_env()
    except (SettingsError, DatabaseError) as exc:
        raise UserError(str(exc)) from None
