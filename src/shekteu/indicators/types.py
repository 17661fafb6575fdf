"""The one registry of indicator types: what each joins, where it leads, how it is listed (issue 20).

Linking (strong identifiers join shops, a URL rides along), tips and wall photos (which types name
where a shop is reached), takedowns (which target an indicator leads to), blocklists and MISP all
read their lists from here, so a new type is one line, not five edits in five modules. Validation
is ``extract.py``'s (checksums, phone plans, IBAN), per type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndicatorType:
    name: str
    links: str = "none"  # "strong": shared, it joins shops; "attached": kept with the shop, joins nothing
    reach: int = 0  # > 0: names where a shop is reached; higher names the shop first (bots before sites)
    address: bool = False  # a link or handle: what tips and wall photos point to
    takedown: str | None = None  # the takedown target type it leads to
    listed: bool = False  # goes into blocklists (hosts, RPZ, CSV, STIX)
    misp: tuple[str, str] | None = None  # MISP attribute type and category
    wallet: bool = False


REGISTRY: tuple[IndicatorType, ...] = (
    IndicatorType("url", links="attached", address=True, takedown="url", listed=True, misp=("url", "Network activity")),
    IndicatorType("domain", links="strong", reach=3, address=True, takedown="domain", listed=True,
                  misp=("domain", "Network activity")),
    IndicatorType("onion", links="strong", reach=2, address=True, listed=True, misp=("domain", "Network activity")),
    IndicatorType("telegram_username", links="strong", reach=4, address=True, takedown="telegram_channel",
                  listed=True, misp=("text", "Social network")),
    IndicatorType("telegram_link", address=True),
    IndicatorType("telegram_bot", links="strong", reach=5, address=True, takedown="telegram_bot", listed=True,
                  misp=("text", "Social network")),
    IndicatorType("telegram_invite", links="strong", reach=1, address=True, listed=True,
                  misp=("url", "Social network")),
    IndicatorType("phone", links="strong", listed=True, misp=("phone-number", "Person")),
    IndicatorType("bank_card", links="strong", takedown="bank_card"),
    IndicatorType("iban", links="strong", listed=True, misp=("iban", "Financial fraud")),
    IndicatorType("btc", links="strong", takedown="wallet", listed=True, misp=("btc", "Financial fraud"), wallet=True),
    IndicatorType("eth", links="strong", takedown="wallet", listed=True, misp=("text", "Financial fraud"), wallet=True),
    IndicatorType("tron", links="strong", takedown="wallet", listed=True, misp=("text", "Financial fraud"),
                  wallet=True),
    IndicatorType("ltc", links="strong", takedown="wallet", listed=True, misp=("text", "Financial fraud"), wallet=True),
    IndicatorType("xmr", links="strong", takedown="wallet", listed=True, misp=("xmr", "Financial fraud"), wallet=True),
    IndicatorType("ton", links="strong", takedown="wallet", listed=True, misp=("text", "Financial fraud"), wallet=True),
    IndicatorType("email", links="strong", listed=True, misp=("email", "Social network")),
    IndicatorType("telegram_chat", links="strong"),
)  # fmt: skip
BY_NAME = {t.name: t for t in REGISTRY}

NAMES = tuple(t.name for t in REGISTRY)
STRONG = frozenset(t.name for t in REGISTRY if t.links == "strong")
ATTACHED = frozenset(t.name for t in REGISTRY if t.links == "attached")
ADDRESS_TYPES = tuple(t.name for t in REGISTRY if t.address)
REACHED_AT = tuple(t.name for t in sorted(REGISTRY, key=lambda t: -t.reach) if t.reach)  # best shop name first
WALLETS = tuple(t.name for t in REGISTRY if t.wallet)
LISTED = tuple(t.name for t in REGISTRY if t.listed)
MISP_TYPES = {t.name: t.misp for t in REGISTRY if t.misp}
TAKEDOWN_TARGET = {t.name: t.takedown for t in REGISTRY if t.takedown}
