"""Taking a tip in, from any channel: checked, stored with its evidence, answered with a ticket.

Adapters (the Telegram bot, the WhatsApp webhook, the web form, Open311) turn what they receive
into a ``TipInput`` and call ``submit``. It validates everything (a bad photo or coordinate is a
clear ``TipError``, not a crash), applies the per-reporter rate limit, stores each photo's original
in the evidence store (the tip job adds an EXIF-free display copy), takes the location from the shared
position or else the first photo's EXIF GPS, and writes the tip plus an item of kind ``tip`` (so the
detector, the indicators and the shops see it) in one transaction. Raw user ids and phone numbers
are never stored: only the pseudonym and the sealed contact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, text

from shekteu import audit
from shekteu.db.tables import Tip, utcnow
from shekteu.db.types import UTCDateTime
from shekteu.images import ImageError, dhash_of, exif_gps, open_image
from shekteu.indicators.extract import ADDRESS_TYPES, extract
from shekteu.items import ItemData, add_item
from shekteu.queue import handoffs
from shekteu.runtime import Runtime, contact_key, hash_key
from shekteu.shops.similar import store_image_bands
from shekteu.text.clean import clean_text
from shekteu.tips import messages
from shekteu.tips.privacy import coarse, pseudonym, seal, seal_location
from shekteu.tips.tickets import new_ticket
from shekteu.wording import N_, Refusal

KINDS = ("online_shop", "graffiti", "other")
CHANNELS = ("telegram", "whatsapp", "web", "open311")
MAX_TEXT = 4000
MAX_PHOTOS = 5


class TipError(Refusal):
    """A tip that cannot be taken as sent; the message says what to fix."""


class RateLimited(TipError):
    """This reporter sent too many tips in the last hour."""


class NotATip(TipError):
    """A greeting or a bare command, not a report: the message says how to report."""


GREETINGS = frozenset({
    "hello", "hi", "hey", "start", "/start", "привет", "здравствуйте", "здравствуй", "добрый день",
    "добрый вечер", "доброе утро", "салам", "салем", "сәлем", "сәлеметсіз бе", "старт", "ку", "hello there",
})  # fmt: skip


def is_greeting(text: str) -> bool:
    words = re.sub(r"[^\w/ ]+", " ", text.lower()).split()
    return bool(words) and " ".join(words) in GREETINGS


@dataclass
class TipInput:
    channel: str
    user_id: str  # the channel's id of the reporter: hashed, never stored
    contact: str | None = None  # where to answer them (chat id, phone): sealed
    kind: str | None = None  # guessed when None
    text: str = ""
    photos: list[bytes] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    lang: str | None = None
    service_code: str | None = None
    message_id: str | None = None  # the channel's id of the message: a redelivery is recognised
    origin: str | None = None  # the network address it came from (web, Open311): hashed, rate-limited too


@dataclass
class Receipt:
    ticket: str
    tip_id: int
    kind: str
    message: str
    has_location: bool
    repeated: bool = False  # the same message delivered again: nothing new was stored


def _check(tip: TipInput, max_photo: int) -> None:
    if tip.channel not in CHANNELS:
        raise TipError(N_("unknown channel {channel!r}"), channel=tip.channel[:40])
    if tip.kind is not None and tip.kind not in KINDS:
        raise TipError(N_("unknown kind {kind!r}; use one of {known}"), kind=tip.kind[:40], known=", ".join(KINDS))
    if len(tip.text) > MAX_TEXT:
        raise TipError(N_("the text is {n} characters; at most {limit}"), n=len(tip.text), limit=MAX_TEXT)
    if not tip.text.strip() and not tip.photos:
        raise TipError(N_("an empty report: send a link, a handle, a description or a photo"))
    if not tip.photos and is_greeting(tip.text):
        raise NotATip(messages.text("greeting", tip.lang))
    if len(tip.photos) > MAX_PHOTOS:
        raise TipError(N_("{n} photos; at most {limit} per report"), n=len(tip.photos), limit=MAX_PHOTOS)
    for n, data in enumerate(tip.photos, 1):
        if len(data) > max_photo:
            raise TipError(N_("photo {n} is {size} bytes; at most {limit}"), n=n, size=len(data), limit=max_photo)
    if (tip.lat is None) != (tip.lon is None):
        raise TipError(N_("a location needs both latitude and longitude"))
    if (
        tip.lat is not None
        and tip.lon is not None
        and not (
            math.isfinite(tip.lat)
            and math.isfinite(tip.lon)
            and -90 <= tip.lat <= 90
            and -180 <= tip.lon <= 180
        )
    ):
        raise TipError(N_("not a location on Earth: {lat}, {lon}"), lat=tip.lat, lon=tip.lon)


def _photos(rt: Runtime, photos: list[bytes]) -> tuple[list[dict[str, Any]], tuple[float, float] | None]:
    """Each photo checked and stored. It is decoded once, at the reduced scale JPEG allows: enough to
    refuse a broken file or a bomb while the reporter waits, and for the perceptual hash; the display
    copy needs the whole picture (0.2 s of CPU for a 12-megapixel photo) and is made by the tip job."""
    entries, gps = [], None
    for n, data in enumerate(photos, 1):
        try:
            image = open_image(data, small=True)
            found = exif_gps(image)
            phash = dhash_of(image)
        except ImageError as exc:
            raise TipError(N_("photo {n}: {error}"), n=n, error=exc.said) from None
        gps = gps or found
        # The original is evidence, but its EXIF may say where the reporter stood and which phone they
        # hold: it is stored sealed under the contact key; people look at the metadata-free copy.
        entries.append({"sha256": rt.store.put_sealed(data, contact_key(rt.settings)),
                        "bytes": len(data), "dhash": f"{phash:016x}",
                        "gps": [coarse(found[0]), coarse(found[1])] if found else None})  # fmt: skip
    return entries, gps


# Both counts (and whether a new ticket is taken) in one statement, written out once: built with
# select() on every call, the counts cost more CPU than anything else a text report does, and the
# second runs holding the write lock, where each round trip is a wait for every other writer.
_RECENT = text(
    "SELECT (SELECT count(*) FROM tips WHERE pseudonym = :who AND created_at > :since), "
    "(SELECT count(*) FROM tips WHERE origin = :origin AND created_at > :since), "
    "EXISTS (SELECT 1 FROM tips WHERE ticket = :ticket)"
).bindparams(bindparam("since", type_=UTCDateTime()))
# The reporter's and the address's locks in one round trip, taken left to right in sorted order.
_REPORTER_LOCKS = text("SELECT pg_advisory_xact_lock(:a), pg_advisory_xact_lock(:b)")
_TICKET_TAKEN = select(Tip.__table__.c.id).where(Tip.__table__.c.ticket == bindparam("ticket"))
_TIP_INSERT = insert(Tip.__table__).returning(Tip.__table__.c.id)


def _check_rate(session: Any, who: str, origin: str | None, since: Any, limit: int, lang: str | None,
                ticket: str = "") -> bool:  # fmt: skip
    """Refuse a reporter, or an address, that sent ``limit`` tips in the last hour; whether
    ``ticket`` is already taken."""
    params = {"who": who, "origin": origin, "since": since, "ticket": ticket}
    by_who, by_origin, taken = session.connection().execute(_RECENT, params).one()
    if by_who >= limit or (origin is not None and by_origin >= limit):
        raise RateLimited(messages.text("rate_limited", lang))
    return bool(taken)


def guess_kind(text: str, photos: int) -> str:
    if any(i.type in ADDRESS_TYPES for i in extract(text)):
        return "online_shop"
    return "graffiti" if photos else "other"


def _cleaned(tip: TipInput) -> TipInput:
    """The tip with every string free of NULs, controls and lone surrogates (``text/clean.py``)."""
    for name in ("channel", "user_id", "contact", "kind", "text", "lang", "service_code", "message_id", "origin"):
        value = getattr(tip, name)
        if isinstance(value, str):
            setattr(tip, name, clean_text(value))
    return tip


def submit(rt: Runtime, tip: TipInput) -> Receipt:
    """Check, store and acknowledge one tip; raises TipError (or RateLimited) naming the problem."""
    settings = rt.settings
    tip = _cleaned(tip)
    _check(tip, settings.tip_max_photo_bytes)
    key = hash_key(settings)
    who = pseudonym(key, tip.channel, tip.user_id)
    ref = pseudonym(key, tip.channel + ":message", tip.message_id) if tip.message_id else None
    origin = pseudonym(key, "origin", tip.origin) if tip.origin else None
    since = utcnow() - timedelta(hours=1)
    # A message delivered again, or a reporter over the limit, is answered before photos are stored;
    # a text-only tip has nothing to store, and the count under the write lock below refuses it alike.
    if ref or tip.photos:
        with rt.db.read() as session:
            seen = session.scalar(select(Tip).where(Tip.source_ref == ref)) if ref else None
            if seen is not None:
                said = messages.text("received", seen.lang, ticket=seen.ticket)
                return Receipt(seen.ticket, seen.id, seen.kind, said, seen.lat is not None, repeated=True)
            _check_rate(session, who, origin, since, settings.tip_rate_limit, tip.lang)
    photos, gps = _photos(rt, tip.photos)
    if tip.lat is not None and tip.lon is not None:
        location, source = (tip.lat, tip.lon), "shared"
    else:
        location, source = gps, ("exif" if gps else None)
    sealed_place = seal_location(contact_key(settings), *location) if location else None
    kind = tip.kind or guess_kind(tip.text, len(photos))
    links = sorted({i.normalized for i in extract(tip.text) if i.type in ADDRESS_TYPES})
    contact = seal(contact_key(settings), tip.contact) if tip.contact else None
    now = utcnow()
    with rt.db.write() as session:
        db = session.connection()  # the statements below go straight to it: this is the write lock's time
        # Count again under a lock: concurrent messages of one reporter must not slip past the limit.
        if session.get_bind().dialect.name == "postgresql":
            # sorted: two submissions never wait on each other (one key alone is taken twice: harmless)
            keys = sorted(int(k[:15], 16) for k in {who, origin or who})
            db.execute(_REPORTER_LOCKS, {"a": keys[0], "b": keys[-1]})
        ticket = new_ticket()
        if _check_rate(session, who, origin, since, settings.tip_rate_limit, tip.lang, ticket):
            while db.scalar(_TICKET_TAKEN, {"ticket": ticket}):
                ticket = new_ticket()
        item_id, _ = add_item(session, ItemData(
            kind="tip", key=ticket, url=f"tip:{ticket}", source=tip.channel, text=tip.text, lang=tip.lang,
            links=links, media=[{"sha256": p["sha256"], "dhash": p["dhash"]} for p in photos],
        ))  # fmt: skip
        tip_id = db.scalar(_TIP_INSERT, dict(
            ticket=ticket, kind=kind, channel=tip.channel, lang=tip.lang, pseudonym=who, contact_sealed=contact,
            text=tip.text, links=links, photos=photos, lat=coarse(location[0]) if location else None,
            lon=coarse(location[1]) if location else None, location_source=source, location_sealed=sealed_place,
            status="received", public_status=messages.status_text("received", tip.lang), item_id=item_id,
            service_code=tip.service_code, source_ref=ref, origin=origin, created_at=now, updated_at=now,
        ))  # fmt: skip
        store_image_bands(session, [(item_id, p["sha256"], int(p["dhash"], 16)) for p in photos])
        audit.record(session, "tip.receive", f"tip:{ticket}", actor=f"{tip.channel}:{who[:12]}",
                     reason="citizen report", detail={"kind": kind, "photos": len(photos), "links": len(links),
                                                      "location": source})  # fmt: skip
        handoffs.tip_received(session, tip_id, ticket)
    # Only the web form has no way back to the reporter (Open311 apps show their own notice).
    said = "received_web" if tip.channel == "web" else "received"
    return Receipt(ticket, tip_id, kind, messages.text(said, tip.lang, ticket=ticket), location is not None)


def add_location(rt: Runtime, channel: str, user_id: str, lat: float, lon: float,
                 *, within: timedelta = timedelta(minutes=30)) -> Receipt | None:  # fmt: skip
    """Put a location shared after a photo on that reporter's latest tip if it has none (None: no
    such tip within ``within``, or it already has a location)."""
    _check(
        TipInput(channel=channel, user_id=user_id, text="-", lat=lat, lon=lon),
        rt.settings.tip_max_photo_bytes,
    )
    who = pseudonym(hash_key(rt.settings), channel, user_id)
    with rt.db.write() as session:
        # The reporter's latest tip only: a location after a photo that carried its own GPS belongs to
        # that photo's report, never to an older tip further back.
        tip = session.scalar(
            select(Tip).where(Tip.pseudonym == who, Tip.channel == channel,
                              Tip.created_at > utcnow() - within).order_by(Tip.id.desc()).limit(1)
            .with_for_update()
        )  # fmt: skip
        if tip is None or tip.lat is not None:
            return None
        tip.lat, tip.lon, tip.location_source, tip.updated_at = coarse(lat), coarse(lon), "shared", utcnow()
        tip.location_sealed = seal_location(contact_key(rt.settings), lat, lon)
        audit.record(session, "tip.locate", f"tip:{tip.ticket}", actor=f"{channel}:{who[:12]}",
                     reason="location shared after the report")  # fmt: skip
        if tip.kind == "graffiti" and tip.processed_at is not None:
            handoffs.graffiti_located(session, tip.id, tip.ticket)  # processed before the place came
        return Receipt(
            tip.ticket, tip.id, tip.kind, messages.text("location_added", tip.lang, ticket=tip.ticket), True
        )
