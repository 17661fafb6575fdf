"""Blocklists of the shops' identifiers for resolvers, firewalls and partner platforms.

Formats: ``hosts`` (0.0.0.0 lines), ``rpz`` (a DNS Response Policy Zone: NXDOMAIN for the domain
and its subdomains), ``csv``, ``stix`` (a STIX 2.1 bundle made with the ``stix2`` library: one
indicator per identifier, each related to its shop as a criminal threat actor) and ``misp`` (a MISP
event built with PyMISP). Warninglisted domains are never listed. STIX and MISP ids are derived
from the content, so exporting twice gives the same objects. Bank cards stay out of shared formats:
their stored form is a mask and a key-dependent hash, useless outside this platform.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu.db.tables import Indicator, Shop, ShopIndicator, Takedown
from shekteu.indicators.types import LISTED, MISP_TYPES, WALLETS
from shekteu.shops.warninglist import Warninglist
from shekteu.takedown.requests import spreadsheet_safe

FORMATS = ("hosts", "rpz", "csv", "stix", "misp")
NAMESPACE = uuid.UUID("6f1f3c8e-2b0c-5a57-9d7e-5e6b7465750a")  # Shekteu's namespace for derived ids


class BlocklistError(ValueError):
    """Nothing to list, or a bad format or zone name."""


@dataclass(frozen=True)
class Entry:
    type: str
    value: str
    shop_id: int
    shop_name: str
    first_seen: datetime
    takedown: str | None  # the furthest takedown state of this value, if any


def entries(session: Session, *, min_score: float = 0.0) -> list[Entry]:
    warn = Warninglist.load(session)
    states = {
        (t, v): s
        for t, v, s in session.execute(select(Takedown.target_type, Takedown.target, Takedown.state))
    }
    rows = session.execute(
        select(Indicator.type, Indicator.normalized, Shop.id, Shop.name, Indicator.first_seen_at)
        .join(ShopIndicator, ShopIndicator.indicator_id == Indicator.id)
        .join(Shop, Shop.id == ShopIndicator.shop_id)
        .where(Shop.merged_into.is_(None), Shop.score >= min_score, Indicator.valid.is_(True),
               Indicator.type.in_(LISTED))
        .order_by(Shop.id, Indicator.type, Indicator.normalized)
    )  # fmt: skip
    out = []
    for kind, value, shop_id, name, seen in rows:
        if kind != "url" and warn.listed(kind, value):
            continue  # a URL on a warninglisted platform is listed: only the platform's domain is not
        target_type = {"telegram_username": "telegram_channel"}.get(kind, kind)
        out.append(Entry(kind, value, shop_id, name, seen, states.get((target_type, value))))
    return out


def hosts(items: list[Entry]) -> str:
    domains = sorted({e.value for e in items if e.type == "domain"})
    head = f"# Shekteu blocklist ({len(domains)} domains), generated {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n"
    return head + "".join(f"0.0.0.0 {d}\n" for d in domains)


def rpz(items: list[Entry], zone: str = "rpz.shekteu.local.") -> str:
    """A Response Policy Zone answering NXDOMAIN (``CNAME .``) for each domain and its subdomains."""
    zone = zone if zone.endswith(".") else zone + "."
    if not re.fullmatch(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+", zone.lower()):
        raise BlocklistError(f"not a zone name: {zone!r}")
    serial = int(datetime.now(UTC).strftime("%Y%m%d%H"))
    lines = [
        f"$ORIGIN {zone}", "$TTL 300",
        f"@ IN SOA localhost. hostmaster.localhost. {serial} 3600 600 604800 300", "@ IN NS localhost.",
    ]  # fmt: skip
    for domain in sorted({e.value for e in items if e.type == "domain"}):
        lines += [f"{domain} CNAME .", f"*.{domain} CNAME ."]
    return "\n".join(lines) + "\n"


def as_csv(items: list[Entry]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["type", "value", "shop_id", "shop_name", "first_seen", "takedown_state"])
    for e in items:
        writer.writerow([e.type, spreadsheet_safe(e.value), e.shop_id, spreadsheet_safe(e.shop_name),
                         e.first_seen.isoformat(), e.takedown or ""])  # fmt: skip
    return buf.getvalue()


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def stix_pattern(e: Entry) -> str | None:
    v = _quote(e.value)
    if e.type in ("domain", "onion"):
        return f"[domain-name:value = '{v}']"
    if e.type == "url":
        return f"[url:value = '{v}']"
    if e.type == "email":
        return f"[email-addr:value = '{v}']"
    if e.type in ("telegram_username", "telegram_bot"):
        return f"[user-account:account_type = 'telegram' AND user-account:account_login = '{_quote(e.value.lstrip('@'))}']"
    if e.type in WALLETS:
        return f"[x-crypto-wallet:address = '{v}' AND x-crypto-wallet:currency = '{e.type}']"
    if e.type == "phone":
        return f"[x-phone-number:value = '{v}']"
    return None


def stix(items: list[Entry]) -> str:
    import stix2

    created = datetime(2026, 1, 1, tzinfo=UTC)
    identity = stix2.Identity(id=f"identity--{uuid.uuid5(NAMESPACE, 'shekteu')}", name="Shekteu",
                              identity_class="system", created=created, modified=created)  # fmt: skip
    objects: list[Any] = [identity]
    actors: dict[int, Any] = {}
    for e in items:
        pattern = stix_pattern(e)
        if pattern is None:
            continue
        if e.shop_id not in actors:
            actors[e.shop_id] = stix2.ThreatActor(
                id=f"threat-actor--{uuid.uuid5(NAMESPACE, f'shop:{e.shop_id}')}", name=e.shop_name,
                threat_actor_types=["criminal"], description=f"Drug shop {e.shop_id} (Shekteu)",
                created_by_ref=identity.id, created=created, modified=created,
            )  # fmt: skip
            objects.append(actors[e.shop_id])
        indicator = stix2.Indicator(
            id=f"indicator--{uuid.uuid5(NAMESPACE, f'{e.type}:{e.value}')}", name=f"{e.type} {e.value}",
            pattern=pattern, pattern_type="stix", valid_from=e.first_seen, created=e.first_seen,
            modified=e.first_seen, indicator_types=["malicious-activity"], created_by_ref=identity.id,
            labels=[f"shekteu:{e.type}"],
        )  # fmt: skip
        relation = stix2.Relationship(
            id=f"relationship--{uuid.uuid5(NAMESPACE, f'{e.type}:{e.value}->shop:{e.shop_id}')}",
            relationship_type="indicates", source_ref=indicator.id, target_ref=actors[e.shop_id].id,
            created=e.first_seen, modified=e.first_seen, created_by_ref=identity.id,
        )  # fmt: skip
        objects += [indicator, relation]
    bundle = stix2.Bundle(
        objects=objects, id=f"bundle--{uuid.uuid5(NAMESPACE, json.dumps(sorted(map(str, items))))}"
    )
    return bundle.serialize(pretty=True) + "\n"




def misp(items: list[Entry]) -> str:
    """One MISP event (``{"Event": …}``) with an attribute per identifier; it validates against MISP's
    strict event schema, which has no objects, so Telegram names and wallets are typed attributes."""
    from pymisp import MISPEvent

    event = MISPEvent()
    event.uuid = str(uuid.uuid5(NAMESPACE, "misp:" + json.dumps(sorted(map(str, items)))))
    event.info = f"Shekteu: drug shop indicators ({len({e.shop_id for e in items})} shops)"
    event.distribution, event.threat_level_id, event.analysis = 0, 2, 2
    event.set_date(datetime.now(UTC).date())
    event.add_tag("shekteu:drug-shop")
    for e in items:
        kind, category = MISP_TYPES.get(e.type, ("text", "Other"))
        comment = f"{e.type}; shop {e.shop_id}: {e.shop_name}"
        attr = event.add_attribute(kind, e.value, category=category, comment=comment, to_ids=kind != "text")
        attr.uuid = str(uuid.uuid5(NAMESPACE, f"misp:{e.type}:{e.value}"))
    # MISP's import (and its JSON schema) takes the event wrapped as {"Event": {...}}.
    return json.dumps({"Event": json.loads(event.to_json())}, indent=2, ensure_ascii=False) + "\n"


def blocklist(session: Session, fmt: str, *, min_score: float = 0.0, zone: str = "rpz.shekteu.local.") -> str:
    if fmt not in FORMATS:
        raise BlocklistError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    items = entries(session, min_score=min_score)
    if not items:
        raise BlocklistError("nothing to list: no shop has a listable identifier yet")
    if fmt == "hosts":
        return hosts(items)
    if fmt == "rpz":
        return rpz(items, zone)
    if fmt == "csv":
        return as_csv(items)
    if fmt == "stix":
        return stix(items)
    return misp(items)
