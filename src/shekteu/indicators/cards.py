"""Bank cards: payment scheme from the BIN, the masked form we keep, and a keyed hash to link sightings.

A shop's card number is personal data of whoever the card belongs to (often a "drop"). The
platform needs to know that two messages name the same card and to send the number to the bank,
not to keep a list of card numbers: by default only the masked form (first six, last four, as PCI
DSS allows) and an HMAC-SHA256 under a secret key are kept. ``SHEKTEU_STORE_FULL_CARD_NUMBERS``
turns on keeping the full number for deployments whose legal basis allows it.
"""

from __future__ import annotations

import hashlib
import hmac

# (first digits range, scheme); the longest matching prefix decides.
_BIN_RANGES: list[tuple[str, str, str]] = [
    ("2200", "2204", "mir"), ("2221", "2720", "mastercard"), ("34", "34", "amex"), ("37", "37", "amex"),
    ("300", "305", "diners"), ("36", "36", "diners"), ("38", "39", "diners"), ("3528", "3589", "jcb"),
    ("4", "4", "visa"), ("51", "55", "mastercard"), ("50", "50", "maestro"), ("56", "58", "maestro"),
    ("6011", "6011", "discover"), ("644", "649", "discover"), ("65", "65", "discover"), ("62", "62", "unionpay"),
    ("639", "639", "maestro"), ("67", "67", "maestro"), ("9860", "9860", "humo"), ("8600", "8600", "uzcard"),
]  # fmt: skip


def scheme(digits: str) -> str:
    best, best_len = "unknown", 0
    for low, high, name in _BIN_RANGES:
        prefix = digits[: len(low)]
        if low <= prefix <= high and len(low) > best_len:
            best, best_len = name, len(low)
    return best


def mask(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def keyed_hash(digits: str, key: bytes) -> str:
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()
