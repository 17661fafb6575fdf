"""Terminal output that hostile text cannot subvert, plus JSON Lines and progress bars.

Titles, posts and error messages come from the web. Printed raw they could carry ANSI escape
sequences (rewrite the screen, hide lines) or Rich markup (``[link=…]``); `safe` strips control
characters and escapes markup. JSON output needs neither: json.dumps escapes control characters.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

# Piped into a file or `less`, a table keeps its values whole instead of being cut to 80 columns
# (COLUMNS still wins when set); --json is the form for scripts.
PIPE_WIDTH = 240
out = Console(highlight=False, soft_wrap=False,
              width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH)  # fmt: skip
err = Console(stderr=True, highlight=False)


def safe(value: object, limit: int | None = None, one_line: bool = True) -> str:
    text = "" if value is None else str(value)
    if one_line:
        text = re.sub(r"\s+", " ", text)
    text = _CONTROL.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {safe(message)}")


def progress(total: int | None, description: str) -> Progress:
    """A progress bar on stderr; silent when stderr is not a terminal (CI, pipes)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    bar.add_task(description, total=total)
    return bar
