"""What the customer wrote, read deterministically: which advisory request it is, the product and the
amount of an order, a changed answer, an insistence after a warning, and vulnerability signals. The
model never fills these: an order is acted on only when the customer's own words name it."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from policies.schema import Product

Request = Literal["show_profile", "retake", "situation_changed", "rebalance", "insist", "recommend"]

_SHOW = re.compile(
    r"\b(my|current)\s+(risk|investor)\s+(profile|class|rating)|\bshow\b.*\bprofile\b|"
    r"我的(风险|投资者)(评级|等级|画像|档案)|查看.*(风险评级|投资者评级)",
    re.IGNORECASE,
)
_RETAKE = re.compile(
    r"\b(retake|redo|repeat|restart|start|begin|take|do)\b.{0,20}\b"
    r"(questionnaire|risk (profile|assessment|test)|profil(e|ing))\b|"
    r"重新(做|评估|测评)|(开始|做).{0,4}(问卷|风险评估|风险测评)",
    re.IGNORECASE,
)
_CHANGED = re.compile(
    r"\b(my )?(situation|circumstances|income|finances|financial situation)\b.{0,20}\b"
    r"(changed|has changed|is different|are different)|\b(lost my job|retired|got divorced|had a baby)\b|"
    r"情况(有)?(变|变化|改变)|失业了|退休了",
    re.IGNORECASE,
)
_REBALANCE = re.compile(r"\brebalanc|\bdrift\b|再平衡|调仓|重新平衡", re.IGNORECASE)
_INSIST = re.compile(
    r"\b(i )?(understand|accept|know) (the )?risks?\b.{0,40}\b(still|anyway|nevertheless|regardless)\b|"
    r"\b(still|anyway) want (to buy )?(it|this|that)\b|\bbuy it anyway\b|\bi insist\b|"
    r"(了解|明白|知道|接受)(这个)?风险.{0,10}(仍|还是|依然|坚持)|坚持(要)?(购买|买)",
    re.IGNORECASE,
)
_BACK = re.compile(r"^\s*(back|go back|previous|previous question|返回|上一题|上一个)\s*[.!。！]?\s*$", re.I)
_CHANGE_N = re.compile(
    r"\b(change|correct|fix|edit|update)\b(?:\s+(?:my\s+)?answer)?(?:\s+(?:to|for|of))?\s+(?:question\s*)?#?(\d{1,2})\b|"
    r"(?:修改|更改|改)(?:第)?\s*(\d{1,2})\s*(?:题|个问题)?",
    re.IGNORECASE,
)


def advisory_request(text: str) -> Request:
    if _INSIST.search(text):
        return "insist"
    if _CHANGED.search(text):
        return "situation_changed"
    if _RETAKE.search(text):
        return "retake"
    if _SHOW.search(text):
        return "show_profile"
    if _REBALANCE.search(text):
        return "rebalance"
    return "recommend"


def wants_back(text: str) -> bool:
    return bool(_BACK.match(text))


def changed_question(text: str) -> int | None:
    """ "change 3", "change my answer to question 3", "修改第3题": the question's number (1-based)."""
    m = _CHANGE_N.search(text)
    if m is None:
        return None
    return int(m.group(2) or m.group(3))


def insists(text: str) -> bool:
    return bool(_INSIST.search(text))


# --- orders -----------------------------------------------------------------------------------
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.,])(?:eur|€|欧元)?\s*"
    r"(\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)(?![\d.,]*\d)\s*(k|千|万)?"
    r"(?!\s*(?:%|percent|years?|yrs?|岁|年|months?))",
    re.IGNORECASE,
)
_MULTIPLIER = {"k": Decimal(1000), "千": Decimal(1000), "万": Decimal(10000)}


def _decimal(raw: str) -> Decimal | None:
    raw = raw.replace(" ", "").replace("'", "")
    groups = re.fullmatch(r"(\d{1,3})((?:[,.]\d{3})+)([.,]\d{1,2})?", raw)
    try:
        if groups:  # 10,000 / 10.000 / 1,250.50 / 1.250,50: the three-digit groups are thousands
            cents = (groups.group(3) or "")[1:]
            return Decimal(
                groups.group(1) + re.sub(r"[,.]", "", groups.group(2)) + (f".{cents}" if cents else "")
            )
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def order_amounts(text: str) -> set[Decimal]:
    """The money amounts in an order ("invest 10,000", "2万", "EUR 5k"); ages, percentages and years
    are not amounts."""
    found = set()
    for raw, suffix in _NUMBER.findall(_AGE.sub(" ", text)):
        value = _decimal(raw)
        if value is not None and value > 0:
            found.add((value * _MULTIPLIER.get(suffix.lower(), Decimal(1))).quantize(Decimal("0.01")))
    return found


def products_named(text: str, shelf: list[Product]) -> list[Product]:
    """The shelf products the customer named, by name or alias (longest match wins, so "global equity
    index fund" is one product, not two)."""
    lowered = text.casefold()
    spans: list[tuple[int, int, Product]] = []
    for product in shelf:
        for alias in sorted(
            {product.name, product.name_zh, product.id, *product.aliases} - {""}, key=len, reverse=True
        ):
            pattern = re.escape(alias.casefold())
            if alias.isascii():
                pattern = rf"(?<![\w-]){pattern}(?![\w-])"
            for m in re.finditer(pattern, lowered):
                spans.append((m.start(), m.end(), product))
    spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken: list[tuple[int, int]] = []
    named: list[Product] = []
    for start, end, product in spans:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        if product not in named:
            named.append(product)
    return named


def without_names(text: str, product: Product) -> str:
    """The text with the product's names taken out, so "Autocall 2029" is not read as an amount."""
    for alias in sorted(
        {product.name, product.name_zh, product.id, *product.aliases} - {""}, key=len, reverse=True
    ):
        text = re.sub(re.escape(alias), " ", text, flags=re.IGNORECASE)
    return text


_AGE = re.compile(r"\b(?:i.?m|i am|aged?)\s*(\d{2,3})\b|(\d{2,3})\s*(?:years? old|岁)", re.IGNORECASE)
_CANNOT_LOSE = re.compile(
    r"can.?t afford to lose|cannot afford to lose|can.?t lose (this|it|any)|all (of )?my savings|"
    r"输不起|不能(亏|损失)|承受不起(任何)?损失|全部积蓄",
    re.IGNORECASE,
)


def vulnerability_signals(text: str, min_age: int = 75) -> list[str]:
    """Signals in the customer's own message that a person should look at the order."""
    signals = []
    age = _AGE.search(text)
    if age and int(age.group(1) or age.group(2)) >= min_age:
        signals.append("age")
    if _CANNOT_LOSE.search(text):
        signals.append("cannot_afford_loss")
    return signals
