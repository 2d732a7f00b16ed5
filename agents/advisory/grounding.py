"""Every number in advisory prose must be one the tools produced. A sentence with any other number is
dropped before the customer reads it (invariant 11: nothing is withdrawn afterwards)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A number not glued to a letter: "C3", "R4" and "MP-C3" are names, not figures.
_NUMBER = re.compile(r"(?<![A-Za-z\-])\d+(?:[.,]\d+)?")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")


def number_forms(values: Iterable[float | int | str]) -> set[str]:
    """How a tool's value may be written: 6.2 -> {"6.2"}, 30.0 -> {"30.0", "30"}, 1926 -> {"1926"}."""
    forms: set[str] = set()
    for value in values:
        if isinstance(value, str):
            forms.update(_NUMBER.findall(value))
            continue
        number = float(value)
        forms.add(f"{number:.1f}")
        forms.add(f"{number:.2f}")
        if number == int(number):
            forms.add(str(int(number)))
    return forms


def numbers_in(text: str) -> list[str]:
    return [n.replace(",", ".") for n in _NUMBER.findall(text)]


def ungrounded(text: str, allowed: set[str]) -> list[str]:
    return [n for n in numbers_in(text) if n not in allowed]


def grounded_sentences(text: str, allowed: set[str]) -> tuple[str, int]:
    """The sentences whose numbers are all allowed, and how many were dropped."""
    kept, dropped = [], 0
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if not sentence:
            continue
        if ungrounded(sentence, allowed):
            dropped += 1
        else:
            kept.append(sentence)
    return " ".join(kept), dropped
