"""The customer's words decide which card, how much, in which currency and to whom; never the model's
guess, never a silent fallback (issue 8, item 9). Over HTTP, with a scripted model."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import AppFactory, login, say


def _transfer(amount: float, payee: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": currency,
        "payee_name": payee,
        "payee_iban": None,
        "reference": None,
    }


def test_a_lost_debit_card_in_chinese_blocks_the_debit_card(make_client: AppFactory) -> None:
    # The model reads it as the credit card; the customer wrote 借记卡 (debit card).
    client = make_client({"card_type": "credit", "reason": "lost"})
    _, msg = say(client, login(client, "alice"), "我的借记卡丢了，请马上冻结")
    assert msg["status"] == "confirm"
    assert msg["action"]["args"]["card_last4"] == "4821" and "Debit" in msg["action"]["summary"]


def test_a_named_card_type_with_no_active_card_is_never_swapped_for_another(make_client: AppFactory) -> None:
    client = make_client({"card_type": "debit", "reason": "lost"}, {"card_type": "debit", "reason": "lost"})
    alice = login(client, "alice")
    _, first = say(client, alice, "block my debit card")
    say(client, alice, "yes", thread_id=first["thread_id"])
    _, again = say(client, alice, "block my debit card please, it's lost")
    assert again["action"] is None and again["status"] == "blocked"
    assert (
        "no active debit card" in again["content"].lower() or "can't find an active debit" in again["content"]
    )
    assert "9913" in again["content"]  # it lists the card that is left, and does not block it


def test_an_unnamed_card_with_two_active_cards_gets_a_question(make_client: AppFactory) -> None:
    client = make_client({"card_type": "unknown", "reason": "stolen"})
    _, msg = say(client, login(client, "alice"), "my wallet was stolen, block my card")
    assert msg["status"] == "clarify" and msg["action"] is None
    assert "4821" in msg["content"] and "9913" in msg["content"]


def test_the_card_ending_the_customer_gave_is_the_one(make_client: AppFactory) -> None:
    client = make_client({"card_type": "debit", "reason": "lost"})
    _, msg = say(client, login(client, "alice"), "please block the card ending 9913")
    assert msg["action"]["args"]["card_last4"] == "9913"


@pytest.mark.parametrize("cancel", ["Actually no, cancel that", "no wait, don't do it", "算了，不用了"])
def test_cancelling_mid_flow_cancels_it_and_blocks_nothing(make_client: AppFactory, cancel: str) -> None:
    client = make_client({"card_type": "debit", "reason": "lost"})  # one model call: the proposal only
    alice = login(client, "alice")
    _, proposal = say(client, alice, "block my debit card")
    _, reply = say(client, alice, cancel, thread_id=proposal["thread_id"])
    assert reply["status"] == "cancelled" and reply["action"]["status"] == "cancelled"
    view = client.get(f"/api/threads/{proposal['thread_id']}", headers=alice).json()
    assert [m["action"]["status"] for m in view["messages"] if m["action"]] == ["cancelled"] * 2


def test_cancel_that_with_nothing_pending_proposes_no_card_block(make_client: AppFactory) -> None:
    client = make_client({"card_type": "unknown", "reason": "other"})
    _, msg = say(client, login(client, "alice"), "Actually no, cancel that")
    assert msg["action"] is None


def test_dollars_are_never_sent_as_euros(make_client: AppFactory) -> None:
    client = make_client(_transfer(500, "Anna Weber", currency="EUR"))  # the model says EUR
    _, msg = say(client, login(client, "alice"), "send 500 dollars to Anna Weber")
    assert msg["action"] is None and msg["status"] == "clarify"
    assert "EUR" in msg["content"]


def test_a_payee_called_saved_must_be_a_saved_payee(make_client: AppFactory) -> None:
    client = make_client(_transfer(300, "Jonas Becker"))
    _, msg = say(client, login(client, "alice"), "send 300 EUR to my saved payee Jonas Becker")
    assert msg["action"] is None and "saved payees" in msg["content"]


def test_a_new_payee_without_an_iban_gets_asked_for_one(make_client: AppFactory) -> None:
    client = make_client(_transfer(300, "Jonas Becker"))
    _, msg = say(client, login(client, "alice"), "send 300 EUR to Jonas Becker")
    assert msg["action"] is None and msg["status"] == "clarify" and "IBAN" in msg["content"]


def test_a_saved_payee_named_loosely_is_found(make_client: AppFactory) -> None:
    client = make_client(_transfer(250, "Hausverwaltung"))
    _, msg = say(client, login(client, "alice"), "pay 250 EUR to the Hausverwaltung")
    assert msg["status"] == "confirm"
    assert msg["action"]["args"]["payee_name"] == "Hausverwaltung Berlin"
    assert msg["action"]["args"]["payee_iban"] == "DE89370400440532013000"


def test_a_payee_name_hiding_direction_overrides_is_refused(make_client: AppFactory) -> None:
    name = "Mietservice Nord\u202e 0021 RUE\u202c"
    client = make_client(_transfer(50, name))
    _, msg = say(client, login(client, "bob"), f"send 50 EUR to {name}")
    assert msg["action"] is None


def test_a_typed_answer_sets_the_language_of_the_outcome(make_client: AppFactory) -> None:
    client = make_client({"card_type": "debit", "reason": "lost"})
    alice = login(client, "alice")
    _, proposal = say(client, alice, "我的借记卡丢了，请马上冻结")
    assert proposal["content"].startswith("请确认")
    _, reply = say(client, alice, "Actually no, cancel that", thread_id=proposal["thread_id"])
    assert reply["content"] == "Cancelled. Nothing was changed."


def test_yes_go_ahead_confirms_a_card_block(make_client: AppFactory) -> None:
    """Found by the conversations eval on the real model: "yes go ahead" was read as a new message."""
    client = make_client({"card_type": "debit", "reason": "lost"})
    alice = login(client, "alice")
    _, first = say(client, alice, "block my debit card")
    assert first["status"] == "confirm"
    _, done = say(client, alice, "yes, go ahead", thread_id=first["thread_id"])
    assert done["status"] == "executed" and done["action"]["status"] == "executed"
