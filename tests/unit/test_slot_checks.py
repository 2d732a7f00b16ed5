"""Deterministic checks on what the model proposes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.confirmation import confirmation_answer
from agents.service.schemas import BlockCardSlots, TransferSlots
from agents.service.words import amounts_in, card_types_in, currencies_in, iban_valid, ibans_in


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send 50 dollars to Anna", {"USD"}),
        ("pay €20 to Jonas", {"EUR"}),
        ("transfer 2000 EUR", {"EUR"}),
        ("给张伟转账2000欧元", {"EUR"}),
        ("转500美元给他", {"USD"}),
        ("send 100 GBP or 120 euros", {"GBP", "EUR"}),
        ("send 300 to Anna Weber", set()),
    ],
)
def test_currencies_come_from_the_customers_words(text: str, expected: set[str]) -> None:
    assert currencies_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I lost my debit card", {"debit"}),
        ("我的借记卡丢了", {"debit"}),
        ("信用卡被偷了", {"credit"}),
        ("block my credit card", {"credit"}),
        ("block my card", set()),
    ],
)
def test_card_types_come_from_the_customers_words(text: str, expected: set[str]) -> None:
    assert card_types_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("OK.", True),
        ("确认", True),
        ("yes go ahead", True),
        ("Yes, please go ahead.", True),
        ("ok do it, thanks", True),
        ("好的，确认", True),
        ("please", None),  # a courtesy alone is no yes
        ("thanks", None),
        ("please, thanks", None),
        ("please confirm", True),
        ("yes but make it 300", None),
        ("yes, cancel it", None),
        ("no", False),
        ("Actually no, cancel that", False),
        ("nope, I changed my mind", False),
        ("算了，不用了", False),
        ("cancel my card", None),  # a new request, not an answer
        ("no, send 300 instead", None),
        ("block my credit card", None),
        ("不要冻结我的卡", None),
    ],
)
def test_answers_to_a_confirmation_are_read_without_a_model(text: str, expected: bool | None) -> None:
    assert confirmation_answer(text) is expected
