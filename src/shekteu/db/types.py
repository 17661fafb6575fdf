"""Column types every table uses: UTC times that stay UTC, and text and JSON cleaned on the way in.

Kept apart from the tables so migrations and the tables share one definition of each type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

from shekteu.text.clean import clean_json, clean_text


class CleanText(TypeDecorator[str]):
    """Text with NULs, stray controls and lone surrogates removed on the way in (``text/clean.py``):
    PostgreSQL refuses NUL in text, UTF-8 has no lone surrogates, and a lookup with either must
    find nothing rather than fail."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return clean_text(value) if isinstance(value, str) else value


class CleanString(CleanText):
    impl = String
    cache_ok = True


class CleanJSON(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) whose strings are cleaned as ``CleanText`` and whose NaN and
    infinities are null: neither JSON nor JSONB has them."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return clean_json(value)


JSONType = CleanJSON()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive input so no local time sneaks in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)

