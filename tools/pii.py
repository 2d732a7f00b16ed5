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
    r"(?i)(?:\b(?:pin|password|passcode|passwort|tan|otp|one[- ]time (?:code|password))\b"
    r"|密码|验证码|动态码)[^\d\n]{0,12}?(\d{3,8})\b"
)
# The three or four digits printed on a card: named (CVV, CVC, CID, security code, 安全码) or
# described ("the code on the back", "卡背面的三位数").
_CARD_CODE_NAME = (
    r"(?:\b(?:cvv2?|cvc2?|cvn|cid|csc|card (?:verification|validation|security) (?:value|code|number)"
    r"|security code|(?:three|3|four|4)[- ]digit (?:code|number)|(?:code|digits|number) on the back"
    r"(?: of (?:the|your|his|her) card)?)\b"
    r"|安全码|校验码|卡背面?(?:的|上的)?(?:三位|3位|后三位)?(?:数字|数|码)?)"
)
_CARD_CODE = re.compile(
    rf"(?i){_CARD_CODE_NAME}[^\d\n.。;；]{{0,30}}?(?<![\d.,/])(\d{{3,4}}|\d \d \d(?: \d)?)(?![\d/.,]\d|\d)"
    rf"|(?<![\d.,/])(\d{{3,4}})\s*(?:is|was|=|是|为)\s*(?:your|the|his|her|their|您的|你的|他的|她的)?\s*{_CARD_CODE_NAME}"
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


def find_card_security_code(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    spans = []
    for m in _CARD_CODE.finditer(text):
        group = next(g for g in (1, 2) if m.group(g))
        spans.append(PiiSpan("card_security_code", m.start(group), m.end(group), m.group(group)))
    return spans


# US Social Security numbers: never area 000, 666 or 9xx, group 00 or serial 0000.
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
# UK National Insurance numbers (HMRC's prefix rules), upper case as they are written.
_NINO = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
# Any other national number, introduced as one: tax ids, BSN, SIN, personal numbers, 社会安全号 ...
_NATIONAL_ID_CONTEXT = re.compile(
    r"(?i)(?:\b(?:ssn|social security (?:number|no)|national (?:id|identity|identification|insurance)"
    r"(?: card)?(?: number| no)?|tax (?:id|identification number|number|code)|taxpayer (?:id|number)|tin"
    r"|steuer[- ]?id|steuer(?:liche )?identifikationsnummer|steuernummer|personalausweis(?:nummer)?|bsn"
    r"|sin|personnummer|codice fiscale|dni|nie|nif|insee|nir|id (?:card )?(?:number|no))\b"
    r"|社会安全号(?:码)?|社保号(?:码)?|税号|纳税人识别号|证件号(?:码)?)"
    r"[^\w\n]{0,4}(?:(?:is|was|of|on file|we hold|registered|是|为|：|:)[^\w\n]{0,3}){0,3}"
    r"((?=[A-Z]{0,3}\d)[A-Z0-9](?:[A-Z0-9]|[ -](?=[A-Z0-9])){5,17})",
)


def find_national_id(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    spans = [PiiSpan("national_id", m.start(), m.end(), m.group()) for m in _SSN.finditer(text)]
    spans += [PiiSpan("national_id", m.start(), m.end(), m.group()) for m in _NINO.finditer(text)]
    for m in _NATIONAL_ID_CONTEXT.finditer(text):
        value = m.group(1)
        taken = any(s.start <= m.start(1) < s.end for s in spans)
        is_cn_id = bool(_CNID.fullmatch(value)) and cn_id_valid(value)  # cn_resident_id reports it
        if sum(ch.isdigit() for ch in value) >= 5 and not taken and not is_cn_id:
            spans.append(PiiSpan("national_id", m.start(1), m.end(1), value))
    return spans


def find_passport(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    return [
        PiiSpan("passport", m.start(1), m.end(1), m.group(1))
        for m in _PASSPORT.finditer(text)
        if any(ch.isdigit() for ch in m.group(1))
    ]


# Someone other than the customer: a pronoun, a role, a relative of the customer's, or a name.
_OTHER_EN = (
    r"(?:\b(?i:his|her|their|he|she|they|who)\b|\b(?i:the) (?i:payee|recipient|sender|payer|beneficiary|"
    r"account holder|other (?:person|customer|party)|customer|owner|tenant|landlord)(?:'s)?|\b(?i:your) "
    r"(?i:sister|brother|mother|father|mum|mom|dad|wife|husband|partner|spouse|son|daughter|children|child|"
    r"friend|neighbou?r|colleague|boss|employer|landlord|tenant|ex|relative|aunt|uncle|cousin|grandmother|"
    r"grandfather|flatmate|roommate|parents?)(?:'s)?|\b(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][a-z]+(?: [A-Z][a-z]+)?"
    r"(?:'s)?|\b[A-Z][a-z]+ [A-Z][a-z]+'s)"
)
_MONEY = (
    r"(?i:(?:eur|€|usd|\$|£|gbp|chf|cny|rmb|¥)\s?\d[\d,.]*\d"
    r"|\d[\d,.]*\s?(?:eur|euros?|usd|dollars?|€|元|欧元))"
)
_STREET = (
    r"\d+[a-z]?,? [A-Z][a-z]+(?: [A-Z][a-z]+)* (?:Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Way|Drive|Dr|Close|"
    r"Court|Ct|Place|Pl|Square|Sq|Gardens|Crescent|Terrace|Row|Hill|Park)\b"
    r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer) \d+[a-z]?\b"
)
_THIRD_PARTY = re.compile(
    rf"{_OTHER_EN}[^.!?\n]{{0,12}}?\b(?i:(?:current |savings |account |available |total |bank )*balance"
    rf"|account (?:has|holds|shows|contains))\b[^.!?\n]{{0,20}}?(?P<balance>{_MONEY})"
    rf"|{_OTHER_EN}[^.!?\n]{{0,12}}?\b(?i:(?:home |postal |residential |current )?address(?: is| on file)?"
    rf"|lives?|is living|resides?|living|residing|moved)\b[^.!?\n\d]{{0,12}}?(?P<address>{_STREET})"
    r"|(?:他|她|对方|收款人|收款方|付款人|该客户|这位客户|此人|别人|他人|其他客户|先生|女士)[^。；！？\n您你]{0,12}?"
    r"余额[^。；！？\n\d]{0,8}(?P<balance_zh>\d[\d,.]*\s?(?:万|千)?(?:元|欧元|美元)?)"
    r"|(?:他|她|对方|收款人|收款方|付款人|该客户|这位客户|此人|别人|他人|其他客户|先生|女士)[^。；！？\n您你]{0,10}?"
    r"(?:住址|地址|住在|家住|居住在?)(?:是|为|：|:)?[^。；！？\n]{0,4}?"
    r"(?P<address_zh>[\u4e00-\u9fff]{2,}?(?:省|市|区|县|镇|路|街|巷|道)[\u4e00-\u9fff\d]*?\d+(?:号|弄|室|栋|单元)"
    r"[\u4e00-\u9fff\d]*)"
)


def find_third_party(text: str, allow: Sequence[str]) -> list[PiiSpan]:
    """Another person's balance or address: a value, introduced as someone else's."""
    spans = []
    for m in _THIRD_PARTY.finditer(text):
        group = next(g for g in ("balance", "address", "balance_zh", "address_zh") if m.group(g))
        spans.append(PiiSpan("third_party", m.start(group), m.end(group), m.group(group)))
    return spans


DETECTORS: dict[str, Callable[[str, Sequence[str]], list[PiiSpan]]] = {
    "iban": find_iban,
    "payment_card": find_payment_card,
    "cn_resident_id": find_cn_resident_id,
    "email": find_email,
    "secret": find_secret,
    "passport": find_passport,
    "card_security_code": find_card_security_code,
    "national_id": find_national_id,
    "third_party": find_third_party,
}
