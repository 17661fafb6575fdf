"""Text that every store and every stage can take: no NULs, no lone surrogates, no stray controls.

Reports, exports and pages are written by strangers. A NUL is legal in a Python string but not in a
PostgreSQL text or JSONB value, and a lone surrogate (``"\\ud83d"``, half an emoji, as JSON exports
may carry) cannot be encoded as UTF-8 at all. Either one, reaching the database, a hash or a
detector batch, used to stop the platform. Intake cleans text with ``clean_text`` before anything
else sees it, and the table types (``db/tables.py``) apply the same cleaning to every value bound
to the database, so no path can miss it. The original bytes stay in the evidence store.
"""

from __future__ import annotations

import math
import re
from typing import Any

# C0 controls but tab, newline and carriage return; DEL; C1 controls; lone surrogates.
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|[\ud800-\udfff]")
MAX_DEPTH = 64


def _replace(match: re.Match[str]) -> str:
    ch = match.group()
    # A surrogate is a broken character: show that something was there. A control is dropped.
    return "\ufffd" if "\ud800" <= ch <= "\udfff" else ("\n" if ch in "\x0b\x0c" else "")


def clean_text(value: str) -> str:
    """``value`` without NULs and other control characters, lone surrogates as U+FFFD."""
    return _BAD.sub(_replace, value) if _BAD.search(value) else value


def clean_json(value: Any, depth: int = 0) -> Any:
    """Every string (keys too) of a JSON-like value cleaned, NaN and infinities as null (JSON has
    neither); nesting past ``MAX_DEPTH`` refused."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if depth > MAX_DEPTH:
        raise ValueError(f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, depth + 1) for v in value]
    return value


def is_clean(value: str) -> bool:
    return _BAD.search(value) is None
