"""clean_text: what a person confirms or approves is what is stored, with nothing hidden or reordered."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from finagent.sanitize import PlainIdentifier, VisibleLine, VisibleText, clean_text, hidden_characters

BIDI_CONTROLS = [
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\u200e",
    "\u200f",
    "\u061c",
]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\U000e0041"]


def test_the_reversed_payee_reads_in_its_true_order() -> None:
    assert clean_text("Mietservice Nord\u202e 0021 RUE\u202c") == "Mietservice Nord 0021 RUE"


@pytest.mark.parametrize("char", BIDI_CONTROLS + ZERO_WIDTH)
def test_every_bidi_control_and_zero_width_character_is_removed(char: str) -> None:
    assert clean_text(f"Acme{char} GmbH") == "Acme GmbH"
    assert hidden_characters(f"Acme{char} GmbH") == [f"U+{ord(char):04X}"]


@pytest.mark.parametrize(
    ("char", "why"),
    [
        ("\x00", "NUL"),
        ("\x1b", "escape, starts terminal sequences"),
        ("\x7f", "DEL"),
        ("\x9b", "C1 control sequence introducer"),
        ("\ue000", "private use"),
        ("\U000f0000", "supplementary private use"),
        ("\ud800", "lone surrogate, as JSON '\\ud800' decodes"),
        ("\u3164", "Hangul filler, renders as nothing"),
    ],
)
def test_other_invisible_code_points_are_removed(char: str, why: str) -> None:
    assert clean_text(f"a{char}b") == "ab", why


def test_line_breaks_in_one_line_text_become_spaces_not_glue() -> None:
    assert clean_text("Nord\nBank\tGmbH\r\nBerlin\u2028Mitte") == "Nord Bank GmbH Berlin Mitte"


def test_multiline_text_keeps_lines_and_tabs_and_unifies_line_breaks() -> None:
    assert clean_text("line 1\r\nline 2\rline 3\u2029\tindented", multiline=True) == (
        "line 1\nline 2\nline 3\n\tindented"
    )
    assert hidden_characters("line 1\n\tline 2", multiline=True) == []
    assert hidden_characters("line 1\n\tline 2") == ["U+000A", "U+0009"]


def test_visible_text_is_kept_and_composed_to_nfc() -> None:
    assert clean_text("Cafe\u0301 Müller") == "Café Müller"
    assert clean_text("  张伟 transfer €1,200.00 👍🏽 ") == "  张伟 transfer €1,200.00 👍🏽 "
    assert clean_text("\u00a0Zürich\u3000") == "\u00a0Zürich\u3000"  # spaces are visible; callers trim


def test_hidden_characters_reports_each_code_point_once_in_order() -> None:
    assert hidden_characters("a\u202eb\u200bc\u202ed") == ["U+202E", "U+200B"]
    assert hidden_characters("plain") == []


@given(st.text())
def test_clean_text_leaves_nothing_hidden_and_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert hidden_characters(cleaned) == []
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in cleaned)
    assert clean_text(cleaned) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)


@given(st.text())
def test_multiline_clean_text_keeps_only_newline_and_tab_controls(text: str) -> None:
    cleaned = clean_text(text, multiline=True)
    assert {c for c in cleaned if unicodedata.category(c) == "Cc"} <= {"\n", "\t"}
    assert clean_text(cleaned, multiline=True) == cleaned


class _Slots(BaseModel):
    payee: VisibleLine
    note: VisibleText
    code: PlainIdentifier


def test_field_types_clean_names_and_texts_and_refuse_hidden_identifiers() -> None:
    slots = _Slots(payee="Mietservice Nord\u202e 0021 RUE\u202c", note="a\u200b\r\nb", code="OTHER")
    assert (slots.payee, slots.note, slots.code) == ("Mietservice Nord 0021 RUE", "a\nb", "OTHER")
    with pytest.raises(ValidationError, match=r"invisible or control characters \(U\+202E\)"):
        _Slots(payee="x", note="y", code="OTHER\u202e")
