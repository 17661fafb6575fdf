"""What keeps reporters safe: a keyed pseudonym instead of their id, and a sealed contact address.

The channel's user id (Telegram id, phone number) never reaches the disk or the logs in plain text.
``pseudonym`` is an HMAC of it under the platform's hash key, so one person's reports link without
revealing who they are. ``seal`` encrypts the address needed to answer them (AES-256-GCM under the
contact key, random nonce, authenticated); it is erased once the ticket closes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from Crypto.Cipher import AES

PREFIX = "v1:"


class SealError(ValueError):
    """A sealed value that does not open under this key (tampered, or another key)."""


def pseudonym(key: bytes, channel: str, user_id: str) -> str:
    message = b"pseudonym\0" + channel.encode() + b"\0" + user_id.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _aes_key(key: bytes) -> bytes:
    return hashlib.sha256(b"contact-seal\0" + key).digest()


def seal(key: bytes, plaintext: str) -> str:
    nonce = secrets.token_bytes(12)
    cipher = AES.new(_aes_key(key), AES.MODE_GCM, nonce=nonce)
    body, tag = cipher.encrypt_and_digest(plaintext.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + body + tag).decode()


def unseal(key: bytes, sealed: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.removeprefix(PREFIX).encode())
        cipher = AES.new(_aes_key(key), AES.MODE_GCM, nonce=raw[:12])
        return cipher.decrypt_and_verify(raw[12:-16], raw[-16:]).decode()
    except (ValueError, KeyError) as exc:
        raise SealError("sealed contact does not open under this key") from exc


PLAIN_DECIMALS = 3  # ~100 m: where a tip is, for maps and statistics; the exact place is sealed


def coarse(value: float) -> float:
    return round(value, PLAIN_DECIMALS)


def seal_location(key: bytes, lat: float, lon: float) -> str:
    return seal(key, f"{lat:.6f},{lon:.6f}")


def exact_location(key: bytes, sealed: str | None, lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """The exact place of a tip when its sealed location opens, else the plain (coarse) one."""
    if sealed:
        try:
            a, b = unseal(key, sealed).split(",")
            return float(a), float(b)
        except (SealError, ValueError):
            pass
    return (lat, lon) if lat is not None and lon is not None else None

