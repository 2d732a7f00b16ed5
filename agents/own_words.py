"""The customer's own words: a message without the text it quotes.

A customer may paste a forwarded email, a reply thread or a chat message and ask about it ("is this
genuine?"). What the pasted text asks for (send EUR 4,900 to this IBAN) is not the customer's request:
routing and slot checks read only what the customer wrote themselves, so an instruction inside a
quotation can neither pick an action nor supply its amount, payee or account.
"""

from __future__ import annotations

import re

# Where a quotation starts: a forward or original-message banner, "On <date> <someone> wrote:", or an
# email header block (From: followed within three lines by Subject:/Sent:/To:/Date:), in English or
# Chinese. Everything from there on is quoted.
_QUOTE_START = re.compile(
    r"^[ \t]*(?:"
    r"-{2,}[ \t]*(?:forwarded message|original message|转发的(?:邮件|消息)|原始邮件)[ \t]*-{2,}"
    r"|begin forwarded message:?"
    r"|on [^\n]{1,120} wrote:"
    r"|(?:from|发件人)[ \t]*[:：][^\n]*\n(?:[^\n]*\n){0,3}?"
    r"[ \t]*(?:subject|sent|to|date|主题|收件人|发送时间)[ \t]*[:：]"
    r")",
    re.IGNORECASE | re.MULTILINE,
)


def own_words(text: str) -> str:
    """The message up to its first quotation, without lines quoted with '>'."""
    start = _QUOTE_START.search(text)
    head = text[: start.start()] if start else text
    return "\n".join(line for line in head.splitlines() if not line.lstrip().startswith(">")).strip()


def quotes_something(text: str) -> bool:
    return own_words(text) != text.strip()
