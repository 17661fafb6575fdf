"""Warninglists: platforms and sites that are never targets of whole-domain blocking (as in MISP).

A drug advert on Telegram, Instagram or a news site's comments does not make ``t.me`` or the news site
a drug shop. Warninglisted identifiers neither join items into shops (every shop would merge through
``t.me``) nor become domain takedowns; a target on one gets a URL-level takedown or none. The list is
a table, seeded from ``data/warninglist.tsv`` when the database is created and edited with
``shekteu warninglist add|remove`` (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import WarninglistEntry, utcnow

TYPES = frozenset({"domain", "telegram_username", "telegram_bot", "phone", "email"})


class WarninglistError(ValueError):
    """A bad warninglist entry or file line; the message names it."""


def default_entries() -> list[tuple[str, str, str]]:
    """(list, type, value) rows of the shipped file; a bad line raises naming the line."""
    text = resources.files("shekteu.shops").joinpath("data/warninglist.tsv").read_text("utf-8")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise WarninglistError(f"warninglist.tsv line {number}: expected list<TAB>type<TAB>value")
        rows.append((parts[0], *normalise_entry(parts[1], parts[2])))
    return rows


def normalise_entry(kind: str, value: str) -> tuple[str, str]:
    kind, value = kind.strip(), value.strip().lower()
    if kind not in TYPES:
        raise WarninglistError(f"unknown warninglist type {kind!r}; use one of {', '.join(sorted(TYPES))}")
    if kind == "domain":
        if "://" in value:
            value = urlsplit(value).hostname or ""
        value = value.removeprefix("www.").rstrip(".")
        if not value or "." not in value or any(c in value for c in " /@"):
            raise WarninglistError(f"not a domain name: {value!r}")
        value = value.encode("idna").decode("ascii")
    elif kind in ("telegram_username", "telegram_bot") and not value.startswith("@"):
        value = "@" + value
    return kind, value


_CONFUSABLE = str.maketrans({ch: to for to, chars in {
    "a": "аɑα", "b": "в", "c": "с", "e": "е", "h": "нһ", "j": "ј", "k": "к", "l": "іiι1", "m": "м",
    "o": "оο0", "p": "рρ", "q": "ԛ", "s": "ѕ", "t": "тτ", "w": "ԝ", "x": "х", "y": "уү",
}.items() for ch in chars})  # fmt: skip


def skeleton(host: str) -> str:
    """A host as it looks, not as it is spelled: Unicode from punycode, look-alike letters and
    digits folded (т→t, і/i/1→l, 0→o, rn→m, vv→w), for telling a platform from its imitations."""
    try:
        shown = host.encode("ascii").decode("idna") if "xn--" in host else host
    except UnicodeError:
        shown = host
    return shown.lower().translate(_CONFUSABLE).replace("rn", "m").replace("vv", "w")


@lru_cache(maxsize=8)
def _skeletons(domains: frozenset[str]) -> dict[str, str]:
    return {skeleton(d): d for d in sorted(domains)}


@dataclass(frozen=True)
class Warninglist:
    """The entries in force, for fast membership tests."""

    domains: frozenset[str]
    exact: frozenset[tuple[str, str]]

    @classmethod
    def load(cls, session: Session) -> Warninglist:
        rows = session.execute(select(WarninglistEntry.type, WarninglistEntry.value)).all()
        return cls(
            frozenset(v for t, v in rows if t == "domain"),
            frozenset((t, v) for t, v in rows if t != "domain"),
        )

    def domain_listed(self, host: str) -> str | None:
        """The listed domain that covers ``host`` (itself or a parent), or one ``host`` imitates
        ("teiegram.org", "xn--r1a.me" for т.me), or None. A look-alike of a messenger or a bank is
        never a shop's own domain to block."""
        labels = host.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in self.domains:
                return candidate
        twins = _skeletons(self.domains)
        for i in range(len(labels) - 1):
            twin = twins.get(skeleton(".".join(labels[i:])))
            if twin:
                return twin
        return None

    def listed(self, kind: str, normalized: str) -> bool:
        if kind == "domain":
            return self.domain_listed(normalized) is not None
        if kind == "url":
            return self.domain_listed(urlsplit(normalized).hostname or "") is not None
        return (kind, normalized.lower()) in self.exact


def add(
    session: Session, kind: str, value: str, *, list_name: str, actor: str, reason: str
) -> WarninglistEntry:
    kind, value = normalise_entry(kind, value)
    if session.scalar(
        select(WarninglistEntry).where(WarninglistEntry.type == kind, WarninglistEntry.value == value)
    ):
        raise WarninglistError(f"{kind} {value} is already on the warninglist")
    entry = WarninglistEntry(list_name=list_name, type=kind, value=value, added_by=actor, added_at=utcnow())
    session.add(entry)
    audit.record(
        session, "warninglist.add", f"{kind}:{value}", actor=actor, reason=reason, detail={"list": list_name}
    )
    return entry


def remove(session: Session, kind: str, value: str, *, actor: str, reason: str) -> None:
    kind, value = normalise_entry(kind, value)
    done = session.execute(
        delete(WarninglistEntry).where(WarninglistEntry.type == kind, WarninglistEntry.value == value)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise WarninglistError(f"{kind} {value} is not on the warninglist")
    audit.record(session, "warninglist.remove", f"{kind}:{value}", actor=actor, reason=reason)


def entries(session: Session) -> list[WarninglistEntry]:
    return list(
        session.scalars(select(WarninglistEntry).order_by(WarninglistEntry.list_name, WarninglistEntry.value))
    )
