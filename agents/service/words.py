"""What the customer wrote, read deterministically. The model proposes slot values; an amount, a
currency, an IBAN, a card or a payee is only acted on when it can be read from the customer's own
words here (the model never invents money, an account or a card)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

_AMOUNT = re.compile(r"(\d[\d.,' ]*\d|\d)\s*(k|K|千|万)?")


def amounts_in(text: str) -> set[Decimal]:
    """Every amount a customer's message could mean: 20,000 / 20.000 / 20k / 2万 / 1 500."""
    found: set[Decimal] = set()
    for raw, suffix in _AMOUNT.findall(text):
        digits = raw.replace(" ", "").replace("'", "")
        candidates = {digits.replace(",", ""), digits.replace(".", "").replace(",", ".")}
        for c in candidates:
            try:
                value = Decimal(c)
            except InvalidOperation:
                continue
            found.add(value * {"k": 1000, "K": 1000, "千": 1000, "万": 10000}.get(suffix, 1))
    return found


_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ibans_in(text: str) -> set[str]:
    """The valid IBANs a customer wrote, spaces or not. The IBAN comes from here, never from the model."""
    found = set()
    for match in _IBAN.finditer(text):
        candidate = match.group(0).replace(" ", "").upper()
        # A greedy match may run into the next word; shorten until the checksum holds.
        for end in range(len(candidate), 14, -1):
            if iban_valid(candidate[:end]):
                found.add(candidate[:end])
                break
    return found


# Currency words and signs. A bare "元" is not read as a currency: it is ambiguous in Chinese text.
_CURRENCIES: dict[str, str] = {
    r"\beur\b|€|\beuros?\b|欧元|欧": "EUR",
    r"\busd\b|\$|\bus ?dollars?\b|\bdollars?\b|\bbucks\b|美元|美金": "USD",
    r"\bgbp\b|£|\bpounds?(?: sterling)?\b|英镑": "GBP",
    r"\bchf\b|\bswiss francs?\b|\bfrancs?\b|瑞士法郎": "CHF",
    r"\bcny\b|\brmb\b|\byuan\b|\brenminbi\b|人民币": "CNY",
    r"\bjpy\b|¥|\byen\b|日元": "JPY",
    r"\bpln\b|\bzloty\b|\bzł\b": "PLN",
}
_CURRENCY_PATTERNS = [(re.compile(p, re.IGNORECASE), code) for p, code in _CURRENCIES.items()]
_ISO_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_ISO_KNOWN = {
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "CNY",
    "JPY",
    "PLN",
    "SEK",
    "NOK",
    "DKK",
    "CZK",
    "HUF",
    "CAD",
    "AUD",
}


def currencies_in(text: str) -> set[str]:
    """The currencies a customer named, as ISO codes ("50 dollars" -> USD, "2000欧元" -> EUR)."""
    found = {code for pattern, code in _CURRENCY_PATTERNS if pattern.search(text)}
    found |= {code for code in _ISO_CODE.findall(text) if code in _ISO_KNOWN}
    return found


CardType = Literal["debit", "credit"]
_CARD_TYPES: dict[CardType, re.Pattern[str]] = {
    "debit": re.compile(
        r"\bdebit\b|\bgiro ?card\b|\bec ?card\b|\bbank ?card\b|借记卡|储蓄卡|\bmaestro\b", re.I
    ),
    "credit": re.compile(r"\bcredit\b|信用卡|贷记卡", re.I),
}
_CARD_WORD = re.compile(r"\bcards?\b|卡", re.IGNORECASE)
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def card_types_in(text: str) -> set[CardType]:
    """The card types a customer named ("my debit card", "借记卡丢了")."""
    return {kind for kind, pattern in _CARD_TYPES.items() if pattern.search(text)}


def mentions_card(text: str) -> bool:
    return bool(_CARD_WORD.search(text))


def last4_in(text: str) -> set[str]:
    """Four-digit groups: a card named by its last digits ("the card ending 4821")."""
    return set(_LAST4.findall(text))


def mentioned(name: str, message: str) -> bool:
    """Every word of the payee's name appears in what the customer wrote."""
    words = re.findall(r"\w+", name.lower())
    text = message.lower()
    return bool(words) and all(w in text for w in words)


_SAVED = re.compile(
    r"\b(?:saved|existing|stored|usual|regular|registered)\b(?:\s+\w+){0,2}\s+(?:payee|recipient|contact|beneficiary)|"
    r"\b(?:payee|recipient|beneficiary)\b[^.!?]{0,20}\b(?:saved|on file|already (?:have|set up))\b|"
    r"已保存的?|常用的?(?:收款人|联系人)|已有的?收款人",
    re.IGNORECASE,
)


def says_saved_payee(text: str) -> bool:
    """The customer described the payee as one they already have ("my saved payee Anna")."""
    return bool(_SAVED.search(text))
