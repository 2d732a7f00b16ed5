"""The groundedness check refuses replies that invent a fee, rate, limit or time."""

from __future__ import annotations

import pytest

from knowledge.grounding import check_grounding, extract_facts
from knowledge.types import Hit


def _hit(text: str, title: str = "Fee schedule", section: str = "International transfers") -> Hit:
    return Hit(
        chunk_id="fees@v2#001",
        doc_id="fees",
        title=title,
        section=section,
        text=text,
        score=0.03,
        relevance=0.6,
    )


FEES = _hit(
    "| service | fee |\n| --- | --- |\n| Outgoing international wire | CNY 80 per transfer |\n"
    "International transfers submitted before 4 pm are sent the same day. Card payments abroad cost 1.5%.\n"
    "The daily limit is CNY 500,000."
)


def test_a_reply_that_repeats_the_document_is_grounded() -> None:
    result = check_grounding("An outgoing international wire costs CNY 80 per transfer.", [FEES])
    assert result.grounded and result.missing_facts == []


@pytest.mark.parametrize(
    ("reply", "invented"),
    [
        ("An outgoing international wire costs CNY 60 per transfer.", "num:60"),
        ("Card payments abroad cost 2.5%.", "pct:2.5"),
        ("Send it before 5 pm to have it sent the same day.", "time:17:00"),
        ("The daily limit is CNY 1,000,000.", "num:1000000"),
    ],
)
def test_an_invented_number_makes_the_reply_ungrounded(reply: str, invented: str) -> None:
    result = check_grounding(reply, [FEES])
    assert not result.grounded
    assert result.missing_facts == [invented]
    assert invented in result.explain()


@pytest.mark.parametrize(
    "reply",
    [
        "International transfers submitted before 16:00 go out the same day.",  # 4 pm == 16:00
        "The daily limit for transfers is 500k CNY.",
        "每日限额为50万元。",  # 50万 == 500,000
        "Card payments abroad cost 1.5 percent.",
    ],
)
def test_the_same_number_written_differently_is_recognised(reply: str) -> None:
    assert check_grounding(reply, [FEES]).missing_facts == []


def test_a_percentage_is_not_supported_by_the_same_number_as_an_amount() -> None:
    hit = _hit("Express delivery costs CNY 30.")
    assert check_grounding("Interest is 30% a year.", [hit]).missing_facts == ["pct:30"]


def test_a_claim_with_no_support_in_the_sources_is_flagged() -> None:
    result = check_grounding(
        "Our mortgages are the cheapest in the country and approval is guaranteed.", [FEES]
    )
    assert not result.grounded
    assert result.unsupported[0].support < 0.5


def test_questions_back_to_the_customer_are_not_claims() -> None:
    result = check_grounding(
        "Would you like me to connect you with a colleague for a 30 minute call?", [FEES]
    )
    assert result.grounded and result.claims == []


def test_without_sources_any_number_is_ungrounded() -> None:
    assert not check_grounding("The fee is CNY 80.", []).grounded


def test_list_markers_are_not_facts() -> None:
    assert extract_facts("1. Open the app\n2. Tap Cards") == set()
