"""Text that people decide on shows what it says: no invisible characters, no reordering.

A bidirectional override can make "Mietservice Nord\u202e 0021 RUE\u202c" display as "Mietservice
Nord EUR 1200", so a customer confirms, and an officer approves, something other than what is stored.
Zero-width and other format characters make two names that look the same compare different (or the
reverse after a careless normalisation). `clean_text` removes all of them from every name and free
text that reaches a decision; `hidden_characters` says which ones a text holds, for refusing input
that must not contain any (identifiers such as a user name or a reason code).
"""

from __future__ import annotations

import unicodedata
from functools import partial
from typing import Annotated

from pydantic import AfterValidator

# Categories removed: Cc controls, Cf format characters (bidi embeddings, overrides and isolates
# U+202A-202E and U+2066-2069, the marks U+200E/200F and U+061C, zero-width space/joiners U+200B-200D,
# U+2060, U+FEFF, soft hyphen, tag characters), Co private use, Cs lone surrogates.
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# Characters that break a line. Kept as "\n" in multi-line text, turned into a space in one line,
# so that "Nord\nBank" does not become "NordBank".
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Letters that render as nothing (Hangul fillers), a known way to pad a name invisibly.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _is_hidden(char: str) -> bool:
    return char in _BLANK_LETTERS or unicodedata.category(char) in _REMOVED_CATEGORIES


def clean_text(text: str, *, multiline: bool = False) -> str:
    """`text` without invisible or reordering characters, NFC-normalised.

    - Removes every Cc, Cf, Co and Cs code point: bidi controls, zero-width characters, other
      control and format characters, private-use characters, lone surrogates; and the Hangul
      filler letters, which render as nothing.
    - Line breaks (CR LF, CR, LF, VT, FF, NEL, U+2028, U+2029): one "\\n" each when ``multiline``,
      else one space. Tab: kept when ``multiline``, else a space.
    - Everything else is kept as written (no trimming, no case change), then NFC-normalised, so the
      same visible text is the same string.
    - Idempotent: ``clean_text(clean_text(t)) == clean_text(t)``.
    """
    out: list[str] = []
    previous = ""
    for char in text:
        if char == "\n" and previous == "\r":
            previous = char
            continue  # CR LF is one line break
        previous = char
        if char in _LINE_BREAKS:
            out.append("\n" if multiline else " ")
        elif char == "\t":
            out.append("\t" if multiline else " ")
        elif not _is_hidden(char):
            out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def hidden_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The code points `clean_text` would remove or replace, as "U+202E", in order, each once."""
    allowed = {"\n", "\t"} if multiline else set()
    found: dict[str, None] = {}
    for char in text:
        if char not in allowed and (char in _LINE_BREAKS or char == "\t" or _is_hidden(char)):
            found.setdefault(f"U+{ord(char):04X}", None)
    return list(found)


def refuse_hidden(text: str) -> str:
    """`text` unchanged, or ValueError naming the hidden characters: for identifiers, where a removed
    character would make the value silently mean another one."""
    hidden = hidden_characters(text)
    if hidden:
        raise ValueError(f"contains invisible or control characters ({', '.join(hidden)})")
    return text


# Field types for pydantic models: a name or another one-line value, a free text, an identifier.
VisibleLine = Annotated[str, AfterValidator(clean_text)]
VisibleText = Annotated[str, AfterValidator(partial(clean_text, multiline=True))]
PlainIdentifier = Annotated[str, AfterValidator(refuse_hidden)]
