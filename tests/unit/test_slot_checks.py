"""Deterministic checks on what the model proposes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.service.schemas import BlockCardSlots, TransferSlots
from agents.service.words import amounts_in, iban_valid, ibans_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send 20,000 EUR", Decimal(20000)),
        ("send 20.000 EUR", Decimal(20000)),
        ("pay 20k to Anna", Decimal(20000)),
        ("转2万欧元", Decimal(20000)),
        ("transfer 1 500 euro", Decimal(1500)),
        ("pay 12.50 for lunch", Decimal("12.50")),
    ],
)
def test_amounts_the_customer_could_mean(text: str, expected: Decimal) -> None:
    assert expected in amounts_in(text)


def test_ibans_are_read_with_or_without_spaces_and_checked() -> None:
    assert ibans_in("to Petar Ivanov, IBAN BG80 BNBG 9661 1020 3456 78.") == {"BG80BNBG96611020345678"}
    assert ibans_in("DE89370400440532013000 please") == {"DE89370400440532013000"}
    assert ibans_in("DE89370400440532013001") == set()  # one digit off: the checksum fails
    assert iban_valid("GB82WEST12345698765432")


def test_slot_schemas_stay_within_what_guided_decoding_supports() -> None:
    # xgrammar (the vLLM backend we pin) refuses a string with both a pattern and a length bound.
    for schema in (TransferSlots, BlockCardSlots):
        for name, prop in schema.model_json_schema()["properties"].items():
            for branch in prop.get("anyOf", [prop]):
                assert not ("pattern" in branch and ("maxLength" in branch or "minLength" in branch)), name
