"""Ticket codes citizens can read out and type: ``KZ-7F3Q-9M2A``, 40 random bits, no 0/O or 1/I."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
_TICKET = re.compile(r"(?:KZ)?-?([2-9A-HJ-NP-Z]{4})-?([2-9A-HJ-NP-Z]{4})")


def new_ticket() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"KZ-{symbols[:4]}-{symbols[4:]}"


def parse_ticket(text: str) -> str | None:
    """The ticket in what someone typed (any case, spaces or dashes optional), or None."""
    m = _TICKET.fullmatch(re.sub(r"\s+", "", text).upper())
    return f"KZ-{m.group(1)}-{m.group(2)}" if m else None
