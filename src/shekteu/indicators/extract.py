"""Find, type, normalise and validate every identifier that leads to a shop or its money.

``extract(text)`` returns indicators in text order: links, domains, onion services, Telegram
accounts, bots, channels and invites, phone numbers, bank cards, IBANs, crypto wallets and emails.
Each is *normalised* to the form other records use (E.164, lower-case host, ``@username``, a TON
wallet's raw form) and *validated* by its own rule or checksum; a candidate that fails is still
reported, with ``valid: false``, so nothing is silently dropped. Spans point into the text as
given, whatever was undone to find the indicator (``t[.]me``, ``hxxp``, zero-width characters).

Each finder runs only when a cheap test says its kind can be present; that keeps extraction an
order of magnitude faster than general-purpose IOC extractors on chat messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shekteu.indicators import cards, checks
from shekteu.indicators.defang import refang
from shekteu.indicators.types import ADDRESS_TYPES as REGISTRY_ADDRESS_TYPES
from shekteu.indicators.types import NAMES

TYPES = NAMES  # every type, from the registry (``types.py``)
ADDRESS_TYPES = REGISTRY_ADDRESS_TYPES  # where a shop is reached (links, sites, Telegram names): what tips and photos give


@dataclass(frozen=True)
class Indicator:
    type: str
    value: str  # as written in the text (cards: masked unless full numbers are allowed)
    normalized: str
    valid: bool
    start: int
    end: int
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self, *, spans: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "value": self.value, "normalized": self.normalized,
                               "valid": self.valid}  # fmt: skip
        if spans:
            out["start"], out["end"] = self.start, self.end
        out.update(self.detail)
        return out


@dataclass(frozen=True)
class CardPolicy:
    key: bytes
    keep_full: bool = False


@lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False)


# -- patterns -------------------------------------------------------------------------------------
_TRAIL = ".,;:!?)]}>'\"»…"
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`«»{}|\\^]+|\bwww\.[^\s<>\"'`«»{}|\\^]+", re.IGNORECASE)
_TG_LINK = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
    r"(?:(?P<plus>\+[\w-]{8,})|joinchat/(?P<join>[\w-]{8,})|(?:s/)?(?P<name>[A-Za-z0-9_]{3,64})(?:/(?P<post>\d+))?)"
    r"|tg://resolve\?domain=(?P<tgname>[A-Za-z0-9_]{3,64})|tg://join\?invite=(?P<tginv>[\w-]{8,})",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_\u0400-\u04ff]{3,40})")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[\w-]+\.)+[A-Za-z\u0400-\u04ff]{2,24}\b"
)
_DOMAIN = re.compile(
    r"(?<![\w@./:-])(?:[A-Za-z0-9\u0400-\u04ff](?:[A-Za-z0-9\u0400-\u04ff-]{0,61}[A-Za-z0-9\u0400-\u04ff])?\.)+"
    r"(?:[A-Za-z\u0400-\u04ff]{2,24}|xn--[a-z0-9-]{2,59})(?![\w@-])(?!\.[A-Za-z0-9])"
)
_ONION = re.compile(r"\b(?:[a-z2-7]{56}|[a-z2-7]{16})\.onion\b", re.IGNORECASE)
_CARD = re.compile(
    r"(?<![\w+-])(?<!\d[.,])(?:\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?|\d{13,19})(?![\w-]|[.,]\d)"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_BTC = re.compile(
    r"\b(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71})\b"
)
_LTC = re.compile(r"\b(?:[LM][1-9A-HJ-NP-Za-km-z]{26,33}|ltc1[02-9ac-hj-np-z]{11,71})\b")
_TRON = re.compile(r"\bT[1-9A-HJ-NP-Za-km-z]{33}\b")
_ETH = re.compile(r"\b0x[0-9a-fA-F]{40}\b")
_XMR = re.compile(r"\b[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?\b")
_TON = re.compile(r"(?<![\w/+=-])(?:[EUk0]Q[A-Za-z0-9_-]{46}(?![\w/+=-])|-?[01]:[0-9a-fA-F]{64}\b)")
_LONG_TOKEN = re.compile(r"[0-9A-Za-z_-]{26,}")  # every wallet form is at least this long
_PHONE_HINT = re.compile(r"(?:\+\s*\d|\b[78][\s(-]*\d{3}|\(\d{3}\))")
_FILE_SUFFIXES = frozenset(
    "py sh pl md rs zip mov exe rar jpg png gif pdf doc txt js css html php json".split()
)
_CYR_TO_LATIN = str.maketrans("аеорсхукмтнвАВЕКМНОРСТХУ", "aeopcxykmthbABEKMHOPCTXY")
_USERNAME_OK = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")  # Telegram: 5-32 characters


def _username_valid(name: str) -> bool:
    return bool(_USERNAME_OK.fullmatch(name)) and "__" not in name and not name.endswith("_")


def _strip_trailing(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _TRAIL:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


@lru_cache(maxsize=65_536)
def _host_form(host: str) -> tuple[str, bool]:
    """Lower-case ASCII (IDNA) host and whether it has a known public suffix."""
    host = host.lower().rstrip(".")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return host, False
    if ascii_host.endswith(".onion"):
        return ascii_host, checks.onion_v3(ascii_host[:-6].rsplit(".", 1)[-1])
    psl = _psl()
    return ascii_host, psl.privatesuffix(ascii_host) is not None


# -- finders: each yields (type, start, end, normalized, valid, detail) in refanged text ------------
Found = tuple[str, int, int, str, bool, dict[str, Any]]


def _telegram(text: str) -> Iterator[Found]:
    for m in _TG_LINK.finditer(text):
        start, end = m.span()
        name = m.group("name") or m.group("tgname")
        invite = m.group("plus") or m.group("join") or m.group("tginv")
        if invite:
            code = invite.lstrip("+")
            yield "telegram_invite", start, end, f"https://t.me/+{code}", len(code) >= 16, {}
            continue
        if name.lower() in ("s", "joinchat", "share", "addstickers", "proxy", "iv", "c"):
            continue
        post = m.group("post")
        link = f"https://t.me/{name.lower()}" + (f"/{post}" if post else "")
        valid = _username_valid(name)
        yield "telegram_link", start, end, link, valid, {}
        kind = "telegram_bot" if name.lower().endswith("bot") else "telegram_username"
        name_start = m.start("name") if m.group("name") else m.start("tgname")
        yield kind, name_start, name_start + len(name), f"@{name.lower()}", valid, {}


def _handles(text: str) -> Iterator[Found]:
    for m in _HANDLE.finditer(text):
        raw = m.group(1)
        name = raw.translate(_CYR_TO_LATIN)
        if not name.isascii():
            continue  # a Cyrillic name after @ is not a Telegram username
        kind = "telegram_bot" if name.lower().endswith("bot") else "telegram_username"
        yield kind, m.start(), m.end(), f"@{name.lower()}", _username_valid(name), {}


def _urls(text: str) -> Iterator[Found]:
    for m in _URL.finditer(text):
        start = m.start()
        end = _strip_trailing(text, start, m.end())
        raw = text[start:end]
        if re.match(r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/", raw, re.IGNORECASE):
            continue  # reported as a Telegram link
        try:
            parts = urlsplit(raw if "://" in raw else f"http://{raw}")
            host = parts.hostname or ""
            port = parts.port
        except ValueError:
            yield "url", start, end, raw, False, {}
            continue
        ascii_host, valid = _host_form(host)
        netloc = ascii_host + (f":{port}" if port and port not in (80, 443) else "")
        normalized = urlunsplit(
            (parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment)
        )
        yield "url", start, end, normalized, valid and bool(host), {}
        if host:
            host_start = start + raw.lower().find(host.lower())
            kind = "onion" if ascii_host.endswith(".onion") else "domain"
            yield kind, host_start, host_start + len(host), _site(ascii_host), valid, {}


def _emails(text: str) -> Iterator[Found]:
    for m in _EMAIL.finditer(text):
        local, _, domain = m.group().rpartition("@")
        ascii_host, valid = _host_form(domain)
        yield "email", m.start(), m.end(), f"{local.lower()}@{ascii_host}", valid, {}


def _domains(text: str) -> Iterator[Found]:
    for m in _DOMAIN.finditer(text):
        host = m.group()
        tld = host.rsplit(".", 1)[-1].lower()
        if tld in _FILE_SUFFIXES and not host.lower().startswith("www."):
            continue
        if tld == "onion":
            continue  # onion finder
        ascii_host, valid = _host_form(host)
        if not valid:
            continue  # "т.е.", "file.txt": not a domain at all
        yield "domain", m.start(), m.end(), _site(ascii_host), True, {}


def _site(ascii_host: str) -> str:
    """The domain indicator's form: ``www.`` dropped, so the two spellings of one site are one."""
    return ascii_host[4:] if ascii_host.startswith("www.") and ascii_host.count(".") >= 2 else ascii_host


_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{3,31}")
_CHAT_KEY = re.compile(r"c/[0-9]{1,19}")  # Telegram's private-link form of a chat id


def own_address(url: str, channel: str | None) -> Indicator | None:
    """The identifier of where an item itself was found — its public channel or its web site.

    Posts of one channel, and pages of one site, belong together even when their text never names
    the channel or site. The indicator's span is (-1, -1): it is not in the text.
    """
    if channel is not None:
        name = channel.lower().lstrip("@")
        if _CHAT_KEY.fullmatch(name):
            # A channel known only by its numeric id (an export without --channel) is still one
            # identity: its posts belong together.
            return Indicator("telegram_chat", channel, name, True, -1, -1)
        if not _CHANNEL_NAME.fullmatch(name):
            return None
        kind = "telegram_bot" if name.endswith("bot") else "telegram_username"
        return Indicator(kind, channel, "@" + name, True, -1, -1)
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    ascii_host, valid = _host_form(host)
    if ascii_host.endswith(".onion"):
        return Indicator("onion", host, ascii_host, valid, -1, -1)
    return Indicator("domain", host, _site(ascii_host), valid, -1, -1) if valid else None


def _onions(text: str) -> Iterator[Found]:
    for m in _ONION.finditer(text):
        label = m.group()[:-6].lower()
        yield "onion", m.start(), m.end(), f"{label}.onion", checks.onion_v3(label), {}


def _cards(text: str, policy: CardPolicy) -> Iterator[Found]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        grouped = not m.group().isdigit()
        if not 13 <= len(digits) <= 19:
            continue
        ok = checks.luhn(digits) and digits[0] in "2345689"
        if not ok and not (grouped or len(digits) == 16):
            continue  # an order number or timestamp, not a card that fails its check
        detail = {"scheme": cards.scheme(digits), "hash": cards.keyed_hash(digits, policy.key)}
        normalized = digits if policy.keep_full else cards.mask(digits)
        yield "bank_card", m.start(), m.end(), normalized, ok, detail


def _ibans(text: str) -> Iterator[Found]:
    for m in _IBAN.finditer(text):
        value = m.group().replace(" ", "")
        if value[:2] not in checks.IBAN_LENGTHS:
            continue
        yield "iban", m.start(), m.end(), value, checks.iban(value), {}


def _wallets(text: str) -> Iterator[Found]:
    if "0x" in text:
        for m in _ETH.finditer(text):
            yield "eth", m.start(), m.end(), m.group().lower(), checks.eth(m.group()), {}
    for m in _BTC.finditer(text):
        value = m.group()
        yield (
            "btc",
            m.start(),
            m.end(),
            value.lower() if value[:3].lower() == "bc1" else value,
            checks.btc(value),
            {},
        )
    for m in _LTC.finditer(text):
        value = m.group()
        yield (
            "ltc",
            m.start(),
            m.end(),
            value.lower() if value[:4] == "ltc1" else value,
            checks.ltc(value),
            {},
        )
    for m in _TRON.finditer(text):
        yield "tron", m.start(), m.end(), m.group(), checks.tron(m.group()), {}
    for m in _XMR.finditer(text):
        yield "xmr", m.start(), m.end(), m.group(), checks.xmr(m.group()), {}
    for m in _TON.finditer(text):
        value = m.group()
        valid = checks.ton(value)
        yield "ton", m.start(), m.end(), ton_raw(value) if valid else value, valid, {}


def ton_raw(value: str) -> str:
    """The raw ``workchain:hex`` form, the same for bounceable and non-bounceable spellings."""
    import base64

    if ":" in value:
        workchain, _, account = value.partition(":")
        return f"{workchain}:{account.lower()}"
    raw = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
    workchain = -1 if raw[1] == 0xFF else raw[1]
    return f"{workchain}:{raw[2:34].hex()}"


_PHONE = re.compile(r"(?<![\w+])(?:\+\s?\d|8|7)[\d\s().\-]{8,18}\d(?!\w)")


def _phones(text: str, taken: list[tuple[int, int]]) -> Iterator[Found]:
    """Phone-shaped candidates (``+`` or a leading 7/8, 10+ digits) checked with phonenumbers."""
    import phonenumbers

    for m in _PHONE.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        raw = m.group().rstrip(" .-(")
        if not 10 <= sum(ch.isdigit() for ch in raw) <= 15 or not _PHONE_HINT.search(raw):
            continue  # prices and quantities are numbers too
        try:
            number = phonenumbers.parse(raw, "KZ")
        except phonenumbers.NumberParseException:
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        yield "phone", m.start(), m.start() + len(raw), e164, phonenumbers.is_valid_number(number), {}


# -- the whole extraction -------------------------------------------------------------------------
def extract(text: str, policy: CardPolicy | None = None) -> list[Indicator]:
    """Every indicator in ``text``, in order of position (spans into ``text`` as given)."""
    policy = policy or CardPolicy(key=b"")
    clean, offsets = refang(text)
    low = clean.lower()
    found: list[Found] = []
    if "t.me" in low or "telegram." in low or "tg://" in low:
        found += _telegram(clean)
    if "://" in clean or "www." in low:
        found += _urls(clean)
    taken = [(s, e) for _, s, e, *_ in found]
    if "@" in clean:
        found += [f for f in _emails(clean) if not _overlaps(f, taken)]
        taken = [(s, e) for _, s, e, *_ in found]
        found += [f for f in _handles(clean) if not _overlaps(f, taken)]
    if ".onion" in low:
        found += [f for f in _onions(clean) if not _overlaps(f, taken)]
    if "." in clean:
        taken = [(s, e) for _, s, e, *_ in found]
        found += [f for f in _domains(clean) if not _overlaps(f, taken)]
    digits = sum(map(clean.count, "0123456789"))
    if digits >= 13:
        found += _cards(clean, policy)
    if digits >= 4 and re.search(r"[A-Z]{2}\d{2}", clean):
        found += _ibans(clean)
    if len(clean) >= 26 and _LONG_TOKEN.search(clean):
        taken = [(s, e) for _, s, e, *_ in found]
        found += [f for f in _wallets(clean) if not _overlaps(f, taken)]
    if digits >= 10:
        taken = [(s, e) for _, s, e, *_ in found]
        found += _phones(clean, taken)
    return _finish(text, offsets, found, policy)


def _overlaps(found: Found, taken: list[tuple[int, int]]) -> bool:
    _, start, end, *_ = found
    return any(start < e and s < end for s, e in taken)


def _finish(text: str, offsets: list[int], found: list[Found], policy: CardPolicy) -> list[Indicator]:
    out = []
    seen = set()
    for kind, start, end, normalized, valid, detail in found:
        a = offsets[start] if start < len(offsets) else len(text)
        b = offsets[end - 1] + 1 if end - 1 < len(offsets) else len(text)
        key = (kind, a, b)
        if key in seen:
            continue
        seen.add(key)
        value = text[a:b]
        if kind == "bank_card" and not policy.keep_full:
            value = normalized
        out.append(Indicator(kind, value, normalized, bool(valid), a, b, detail))
    out.sort(key=lambda i: (i.start, TYPES.index(i.type)))
    return out
