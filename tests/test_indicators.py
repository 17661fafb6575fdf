"""Indicators: every type found, normalised and validated; checksums fail loudly; spans hold."""

from __future__ import annotations

import hashlib

import pytest

from shekteu.indicators import checks
from shekteu.indicators.cards import mask, scheme
from shekteu.indicators.extract import CardPolicy, extract

POLICY = CardPolicy(key=b"test-key-0123456789")


def b58encode_check(payload: bytes) -> str:
    """An independent Base58Check encoder (the library only decodes)."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = checks.B58_ALPHABET[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + out


def luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if checks.luhn(prefix + d):
            return prefix + d
    raise AssertionError


def found(text: str, policy: CardPolicy = POLICY) -> list[tuple[str, str, bool]]:
    return [(i.type, i.normalized, i.valid) for i in extract(text, policy)]


VALID = [
    ("btc", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("btc", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"),
    ("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    ("eth", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    ("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    ("ltc", "LaMT348PWRnrqeeWArpwQPbuanpXDZGEUz"),
    (
        "xmr",
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
    ),
    ("ton", "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"),
    ("onion", "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"),
    ("iban", "KZ86125KZT5004100100"),
    ("iban", "DE89370400440532013000"),
]


@pytest.mark.parametrize(("kind", "value"), VALID)
def test_known_good_identifiers_are_valid(kind: str, value: str) -> None:
    got = [i for i in extract(f"оплата: {value}, спасибо", POLICY) if i.type == kind]
    assert len(got) == 1 and got[0].valid and got[0].value == value


@pytest.mark.parametrize(("kind", "value"), VALID)
def test_one_changed_character_fails_the_check(kind: str, value: str) -> None:
    # Change a character in the checksummed part to another of the same alphabet.
    i = len(value) - 3 if kind != "onion" else 10
    swap = {"a": "b", "b": "c", "c": "d", "d": "e", "e": "f", "f": "a"}
    ch = value[i]
    repl = swap.get(ch.lower(), "2" if ch != "2" else "3")
    if ch.isupper() and kind not in ("iban",):
        repl = repl.upper() if repl.isalpha() else repl
    broken = value[:i] + repl + value[i + 1 :]
    got = [i for i in extract(f"оплата: {broken}, спасибо", POLICY) if i.type == kind]
    assert got and not got[0].valid, broken


def test_generated_base58check_addresses_are_typed_by_version() -> None:
    body = bytes(range(20))
    assert found(b58encode_check(b"\x00" + body)) == [("btc", b58encode_check(b"\x00" + body), True)]
    assert found(b58encode_check(b"\x41" + body))[0][0::2] == ("tron", True)
    assert found(b58encode_check(b"\x30" + body))[0][0::2] == ("ltc", True)


def test_eip55_mixed_case_with_a_wrong_checksum_is_invalid_but_lower_case_is_fine() -> None:
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert found(good.lower()) == [("eth", good.lower(), True)]
    assert found(good[:-1] + "D") == [("eth", good.lower()[:-1] + "d", False)]


def test_ton_spellings_of_one_wallet_normalise_to_one_raw_address() -> None:
    import base64

    raw = base64.urlsafe_b64decode("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N")
    bounceable = bytes([0x51]) + raw[1:34]  # the same account, non-bounceable flag
    crc = __import__("binascii").crc_hqx(bounceable, 0).to_bytes(2, "big")
    other = base64.urlsafe_b64encode(bounceable + crc).decode()
    a, b = found("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"), found(other)
    assert a[0][1] == b[0][1] == "0:" + raw[2:34].hex() and a[0][2] and b[0][2]


def test_cards_are_luhn_checked_masked_and_hashed_with_the_key() -> None:
    number = luhn_complete("440043012345678")
    text = f"карта {number[:4]} {number[4:8]} {number[8:12]} {number[12:]}"
    (card,) = extract(text, POLICY)
    assert card.type == "bank_card" and card.valid
    assert card.normalized == card.value == mask(number) == number[:6] + "******" + number[-4:]
    assert card.detail["scheme"] == "visa"
    assert number not in str(card.as_json())  # the full number appears nowhere by default
    (other_key,) = extract(text, CardPolicy(key=b"another-key-012345"))
    assert other_key.detail["hash"] != card.detail["hash"]
    (full,) = extract(text, CardPolicy(key=POLICY.key, keep_full=True))
    assert full.normalized == number and full.detail["hash"] == card.detail["hash"]
    bad = number[:-1] + str((int(number[-1]) + 1) % 10)
    (invalid,) = extract(f"карта {bad}", POLICY)
    assert not invalid.valid


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("2200123456789010", "mir"), ("5500000000000004", "mastercard"), ("4111111111111111", "visa"),
     ("371449635398431", "amex"), ("6200000000000005", "unionpay"), ("2221000000000009", "mastercard")],
)  # fmt: skip
def test_scheme_from_bin(digits: str, expected: str) -> None:
    assert scheme(digits) == expected


def test_timestamps_and_order_numbers_are_not_cards() -> None:
    assert found("заказ 1732204800123 от 22.11, сумма 15 000 ₸") == []


def test_telegram_forms() -> None:
    got = found(
        "бот @MefShop_bot, канал t.me/s/SnegKZ, пост https://t.me/snegkz/123, "
        "резерв telegram.me/snegkz2, tg://resolve?domain=sneg_operator, чат t.me/+AbCdEfGhIjKlMnOp12 "
        "и t.me/joinchat/AAAAAEHbEkY2kG9Vxx1234"
    )
    assert ("telegram_bot", "@mefshop_bot", True) in got
    assert ("telegram_link", "https://t.me/snegkz", True) in got
    assert ("telegram_link", "https://t.me/snegkz/123", True) in got
    assert ("telegram_link", "https://t.me/snegkz2", True) in got
    assert ("telegram_username", "@sneg_operator", True) in got
    assert ("telegram_invite", "https://t.me/+AbCdEfGhIjKlMnOp12", True) in got
    assert ("telegram_invite", "https://t.me/+AAAAAEHbEkY2kG9Vxx1234", True) in got


def test_usernames_follow_telegram_rules_and_cyrillic_lookalikes_are_folded() -> None:
    assert found("пиши @shop") == [("telegram_username", "@shop", False)]  # shorter than 5
    assert found("пиши @mеfshop") == [("telegram_username", "@mefshop", True)]  # Cyrillic е
    assert found("пиши @мефшоп") == []  # a Cyrillic name is not a Telegram username
    assert found("почта admin@example.com") == [("email", "admin@example.com", True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t[.]me/mefshop_kz", ("telegram_link", "https://t.me/mefshop_kz", True)),
        ("hxxps://mef-shop[.]kz/price", ("url", "https://mef-shop.kz/price", True)),
        ("mef-shop(.)kz", ("domain", "mef-shop.kz", True)),
        ("mefshop dot com", ("domain", "mefshop.com", True)),
        ("shop собака mail.ru", ("email", "shop@mail.ru", True)),
        ("shop[at]mail[.]ru", ("email", "shop@mail.ru", True)),
        ("t . me / mefshop_kz", ("telegram_link", "https://t.me/mefshop_kz", True)),
        ("пиши @ mefshop_kz", ("telegram_username", "@mefshop_kz", True)),
        ("t.me/mef\u200bshop_kz", ("telegram_link", "https://t.me/mefshop_kz", True)),
    ],
)
def test_defanged_forms_are_undone_and_spans_cover_what_was_written(text: str, expected: tuple) -> None:
    got = extract(text, POLICY)
    assert expected in [(i.type, i.normalized, i.valid) for i in got]
    hit = next(i for i in got if (i.type, i.normalized) == expected[:2])
    assert text[hit.start : hit.end] == hit.value


def test_urls_domains_and_phones() -> None:
    got = found(
        "Сайт: HTTPS://Mef-Shop.KZ:443/каталог?a=1). Тел: +7 (701) 765-43-21, 8 707 123 45 67; сайт.рф"
    )
    assert ("url", "https://mef-shop.kz/каталог?a=1", True) in got
    assert ("domain", "mef-shop.kz", True) in got
    assert ("phone", "+77017654321", True) in got
    assert ("phone", "+77071234567", True) in got
    assert ("domain", "xn--80aswg.xn--p1ai", True) in got


def test_onion_v2_is_reported_invalid() -> None:
    assert found("старый адрес expyuzz4wqqyqhjn.onion") == [("onion", "expyuzz4wqqyqhjn.onion", False)]


def test_ordinary_text_has_no_indicators() -> None:
    text = "т.е. файл report.txt, версия 1.5, цена 15 000 ₸, 2 кг, в 10:30, см. п. 3.2"
    assert found(text) == []


def test_a_large_hostile_input_is_bounded() -> None:
    text = ("@" * 50_000) + ("1" * 50_000) + ("t.me/" * 10_000) + ("a." * 20_000)
    extract(text, POLICY)  # finishes; no catastrophic backtracking
