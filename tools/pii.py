"""Detectors for personal data in outgoing text. Checksums (IBAN mod-97, Luhn, the Chinese
resident-ID check digit) keep ordinary numbers such as amounts and dates from being flagged."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PiiSpan:
    detector: str
    start: int
    end: int
    value: str

    def masked(self) -> str:
        if self.detector in {"iban", "payment_card"}:
            compact = re.sub(r"\s|-", "", self.value)
            return "*" * 4 + compact[-4:]
        return "[redacted]"


_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_DIGITS = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,]\d)")
_CNID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_EMAIL = re.compile(r"\b[\w.+-]+@([\w-]+(?:\.[\w-]+)+)\b")
_SECRET = re.compile(
    r"(?i)(?:\b(?:pin|password|passcode|passwort|cvv2?|cvc2?|security code|tan|otp"
    r"|one[- ]time (?:code|password))\b"
    r"|密码|验证码|动态码|安全码)[^\d\n]{0,12}?(\d{3,8})\b"
)
_PASSPORT = re.compile(r"(?i)(?:\bpassport\b|护照)[^\n.。]{0,20}?\b([A-Z]{1,2}[0-9A-Z]{6,8})\b")
_CARD_CONTEXT = re.compile(r"(?i)card|卡")


def iban_valid(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def cn_id_valid(value: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(value[:17], weights, strict=True)) % 11]
    return value[17].upper() == check


def find_iban(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    spans = []
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # The pattern may run into the next word ("... 0130 00 is"); drop trailing tokens until
        # the checksum holds.
        while candidate and not iban_valid(candidate) and " " in candidate:
            candidate = candidate.rsplit(" ", 1)[0]
        if iban_valid(candidate):
            spans.append(PiiSpan("iban", m.start(), m.start() + len(candidate), candidate))
    return spans


def find_payment_card(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    spans = []
    for m in _DIGITS.finditer(text):
        number = re.sub(r"\D", "", m.group())
        # A Luhn-valid 13-19 digit number is a card number; an invalid one is still one when the
        # sentence is about a card (a typo'd card number is still a card number).
        near_card = bool(_CARD_CONTEXT.search(text[max(0, m.start() - 25) : m.start()]))
        is_cn_id = len(number) == 18 and cn_id_valid(number)
        if 13 <= len(number) <= 19 and (luhn_valid(number) or near_card) and not is_cn_id:
            spans.append(PiiSpan("payment_card", m.start(), m.end(), m.group()))
    return spans


_ID_CONTEXT = re.compile(r"(?i)身份证|证件号|id (?:card|number)|identity")


def find_cn_resident_id(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    # Checksum-valid, or introduced as an ID number (a mistyped ID is still personal data).
    return [
        PiiSpan("cn_resident_id", m.start(), m.end(), m.group())
        for m in _CNID.finditer(text)
        if cn_id_valid(m.group()) or _ID_CONTEXT.search(text[max(0, m.start() - 12) : m.start()])
    ]


def find_email(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    allowed = {a.casefold() for a in allow}
    return [
        PiiSpan("email", m.start(), m.end(), m.group())
        for m in _EMAIL.finditer(text)
        if m.group(1).casefold() not in allowed
    ]


def find_secret(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    return [PiiSpan("secret", m.start(1), m.end(1), m.group(1)) for m in _SECRET.finditer(text)]


def find_passport(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    return [
        PiiSpan("passport", m.start(1), m.end(1), m.group(1))
        for m in _PASSPORT.finditer(text)
        if any(ch.isdigit() for ch in m.group(1))
    ]


DETECTORS: dict[str, Callable[[str, Sequence[str]], list[PiiSpan]]] = {
    "iban": find_iban,
    "payment_card": find_payment_card,
    "cn_resident_id": find_cn_resident_id,
    "email": find_email,
    "secret": find_secret,
    "passport": find_passport,
}
