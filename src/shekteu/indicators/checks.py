"""Checksums that separate a real card, IBAN, wallet or onion address from a string that looks like one.

A shop's card number or wallet is evidence sent to a bank or an exchange; a typo or a random
26-character string must not be. Each function takes the candidate as found (after spaces are
removed) and answers whether its built-in check holds. Sources: ISO/IEC 7812 (Luhn), ISO 13616
(IBAN), Bitcoin's Base58Check and BIP-173/BIP-350 (bech32/bech32m), EIP-55, Monero's block
Base58 with Keccak-256, TON's CRC16 user-friendly form and Tor's rend-spec-v3 (onion checksum).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {ch: i for i, ch in enumerate(B58_ALPHABET)}
BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum and Monero use it (not NIST SHA3-256)."""
    from Crypto.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()


# -- cards and bank accounts ----------------------------------------------------------------------
def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# IBAN lengths by country (ISO 13616 registry, the countries a Kazakh case meets and the rest of SEPA).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BY": 28,
    "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MD": 24, "ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
    "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban(value: str) -> bool:
    """ISO 13616: the country's length and mod-97 == 1."""
    value = value.upper()
    if IBAN_LENGTHS.get(value[:2]) != len(value) or not value.isalnum() or not value[2:4].isdigit():
        return False
    if value[:2] == "KZ" and not value[4:7].isdigit():
        return False  # KZ: three-digit bank code, then 13 alphanumerics
    rearranged = value[4:] + value[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


# -- Base58 and bech32 ----------------------------------------------------------------------------
def _b58_number(chars: str) -> int | None:
    number = 0
    for ch in chars:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            return None
        number = number * 58 + digit
    return number


def b58decode(value: str) -> bytes | None:
    number = _b58_number(value)
    if number is None:
        return None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(value) - len(value.lstrip("1"))
    return b"\x00" * pad + body


def b58check(value: str) -> bytes | None:
    """The payload (version byte included) when the four-byte double-SHA-256 checksum holds."""
    raw = b58decode(value)
    if raw is None or len(raw) < 5:
        return None
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        return None
    return payload


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def segwit(value: str, hrp: str) -> bool:
    """A segwit address (BIP-173 bech32 for v0, BIP-350 bech32m for v1+) with this prefix."""
    if value.lower() != value and value.upper() != value:
        return False  # mixed case is invalid bech32
    value = value.lower()
    sep = value.rfind("1")
    if value[:sep] != hrp or not 8 <= len(value) - sep - 1 <= 90 or len(value) > 90:
        return False
    try:
        data = [BECH32_ALPHABET.index(ch) for ch in value[sep + 1 :]]
    except ValueError:
        return False
    expanded = [ord(ch) >> 5 for ch in hrp] + [0] + [ord(ch) & 31 for ch in hrp]
    const = _bech32_polymod(expanded + data)
    version = data[0]
    if version > 16 or const != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return False
    # The witness program: 5-bit groups back to bytes, 2..40 bytes (20 or 32 for v0).
    bits = (len(data) - 7) * 5
    length = bits // 8
    if bits % 8 > 4 or not 2 <= length <= 40:
        return False
    return version != 0 or length in (20, 32)


# -- chains ---------------------------------------------------------------------------------------
def btc(value: str) -> bool:
    if value[:3].lower() == "bc1":
        return segwit(value, "bc")
    payload = b58check(value)
    return payload is not None and len(payload) == 21 and payload[0] in (0x00, 0x05)


def ltc(value: str) -> bool:
    if value[:4].lower() == "ltc1":
        return segwit(value, "ltc")
    payload = b58check(value)
    return payload is not None and len(payload) == 21 and payload[0] in (0x30, 0x32, 0x05)


def tron(value: str) -> bool:
    payload = b58check(value)
    return payload is not None and len(payload) == 21 and payload[0] == 0x41


def eth(value: str) -> bool:
    """``0x`` + 40 hex digits; mixed case must carry a correct EIP-55 checksum."""
    body = value[2:]
    if len(body) != 40 or not all(ch in "0123456789abcdefABCDEF" for ch in body):
        return False
    if body.lower() == body or body.upper() == body:
        return True
    lower = body.lower()
    digest = keccak256(lower.encode()).hex()
    return body == "".join(ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(lower))


_XMR_BLOCK_SIZES = [0, -1, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8]  # encoded chars -> bytes per block


def _xmr_decode(value: str) -> bytes | None:
    out = bytearray()
    for start in range(0, len(value), 11):
        block = value[start : start + 11]
        size = _XMR_BLOCK_SIZES[len(block)] if len(block) < len(_XMR_BLOCK_SIZES) else -1
        if size <= 0:
            return None
        number = _b58_number(block)
        if number is None or number >= 1 << (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def xmr(value: str) -> bool:
    """Monero standard (95 chars) or integrated (106) address: Keccak-256 checksum over the body."""
    if len(value) not in (95, 106):
        return False
    raw = _xmr_decode(value)
    if raw is None or len(raw) < 5:
        return False
    return keccak256(raw[:-4])[:4] == raw[-4:] and raw[0] in (18, 19, 42)


def _crc16_xmodem(data: bytes) -> int:
    return binascii.crc_hqx(data, 0)


def ton(value: str) -> bool:
    """TON user-friendly address (48 base64/base64url chars) with its CRC16, or raw ``wc:hex64``."""
    if ":" in value:
        workchain, _, account = value.partition(":")
        return (
            workchain in ("0", "-1")
            and len(account) == 64
            and all(c in "0123456789abcdefABCDEF" for c in account)
        )
    if len(value) != 48:
        return False
    try:
        raw = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return False
    if len(raw) != 36 or raw[0] & 0x7F not in (0x11, 0x51) or raw[1] not in (0x00, 0xFF):
        return False
    return _crc16_xmodem(raw[:34]) == int.from_bytes(raw[34:], "big")


def onion_v3(label: str) -> bool:
    """A v3 onion service name: base32 of pubkey(32) + checksum(2) + version(1) = 3."""
    if len(label) != 56:
        return False
    try:
        raw = base64.b32decode(label.upper())
    except (binascii.Error, ValueError):
        return False
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34]
    expected = hashlib.sha3_256(b".onion checksum" + pubkey + bytes([version])).digest()[:2]
    return version == 3 and checksum == expected
