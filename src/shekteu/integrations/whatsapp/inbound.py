"""WhatsApp messages turned into tips: text, image (downloaded through the Graph API within the photo
size limit) and location (right after a photo it completes that tip). Redelivered messages (same
message id) are recognised and not stored twice; each reporter gets the ticket back. A reporter over
the hourly limit is told so once a minute, as the Telegram bot does — not once per message of a flood
(500 messages made 480 identical replies)."""

from __future__ import annotations

import threading
import time
from typing import Any

from shekteu.integrations.whatsapp.client import GraphClient
from shekteu.runtime import Runtime, hash_key
from shekteu.tips import messages
from shekteu.tips.intake import RateLimited, TipError, TipInput, add_location, submit
from shekteu.tips.outbox import DeliveryError
from shekteu.tips.privacy import pseudonym
from shekteu.web.i18n import in_language


def handle_message(
    rt: Runtime, graph: GraphClient | None, message: dict[str, Any], lang: str | None
) -> str | None:
    """Turn one message into a tip (or a location on the last tip); returns the reply text."""
    sender = str(message.get("from", ""))
    kind = message.get("type")
    if not sender:
        return None
    tip = TipInput(
        channel="whatsapp", user_id=sender, contact=sender, lang=lang, message_id=message.get("id")
    )
    try:
        if kind == "text":
            tip.text = str((message.get("text") or {}).get("body", ""))
        elif kind == "image":
            image = message.get("image") or {}
            if graph is None:
                raise TipError("photos cannot be fetched: WhatsApp is not configured")
            tip.photos = [graph.media(str(image.get("id", "")))]
            tip.text = str(image.get("caption") or "")
        elif kind == "location":
            where = message.get("location") or {}
            lat, lon = float(where.get("latitude")), float(where.get("longitude"))
            added = add_location(rt, "whatsapp", sender, lat, lon)
            if added is not None:
                return added.message
            tip.lat, tip.lon, tip.kind = lat, lon, "graffiti"
            tip.text = str(where.get("name") or where.get("address") or "")
        else:
            return messages.text("unsupported", lang)
        receipt = submit(rt, tip)
    except RateLimited as exc:
        return in_language(exc, lang) if _first_warning(rt, sender) else None
    except (TypeError, ValueError) as exc:  # TipError is a ValueError
        said = in_language(exc, lang)
        return messages.text("bad_photo", lang, reason=said) if kind == "image" else said
    if receipt.repeated:
        return None  # a redelivery: the reporter already has the answer
    if kind == "image" and not receipt.has_location:
        return receipt.message + "\n" + messages.text("need_location", lang)
    return receipt.message


WARN_EVERY = 60.0  # seconds between two "too many reports" replies to one number
_warned: dict[str, float] = {}  # the number's pseudonym → when it was last told (memory only)
_warned_lock = threading.Lock()


def _first_warning(rt: Runtime, sender: str) -> bool:
    """Is this the first over-the-limit message from ``sender`` in ``WARN_EVERY`` seconds?"""
    key, now = pseudonym(hash_key(rt.settings), "whatsapp", sender), time.monotonic()
    with _warned_lock:
        if now - _warned.get(key, -WARN_EVERY) < WARN_EVERY:
            return False
        if len(_warned) > 100_000:  # a flood of numbers does not grow this without bound
            _warned.clear()
        _warned[key] = now
        return True


def _lang(value: dict[str, Any]) -> str | None:
    for contact in value.get("contacts") or []:
        code = str((contact.get("profile") or {}).get("locale", ""))[:2]
        if code in messages.LANGS:
            return code
    return None


def answer(rt: Runtime, replies: list[tuple[str, str]]) -> None:
    try:
        graph = GraphClient(rt.settings)
    except DeliveryError:
        return
    for to, text in replies:
        try:
            graph.send_text(to, text)
        except DeliveryError:
            pass  # the ticket is stored; the reporter can ask for it again


def handle_all(rt: Runtime, entries: Any) -> list[tuple[str, str]]:
    try:
        graph: GraphClient | None = GraphClient(rt.settings)
    except DeliveryError:
        graph = None
    replies = []
    for entry in entries if isinstance(entries, list) else []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            lang = _lang(value)
            for message in value.get("messages") or []:
                if isinstance(message, dict):
                    text = handle_message(rt, graph, message, lang)
                    if text:
                        replies.append((str(message.get("from")), text))
    return replies
