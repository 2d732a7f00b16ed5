"""Actions end to end over HTTP: policy verdict, customer confirmation, approval, exactly-once execution."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from finagent.llm import LLMBadOutput, LLMUnavailable
from tests.unit.conftest import AppFactory, confirm, login, say

TRANSFER_20K = {
    "amount": 20000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": "DE75512108001245126199",
    "reference": None,
}


def _approve(client: TestClient, officer: str, item_id: int) -> Any:
    headers = login(client, officer)
    assert client.post(f"/api/approvals/{item_id}/claim", headers=headers).status_code == 200
    return client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER", "note": "called back"},
        headers=headers,
    )


def _staff_action(client: TestClient, action_id: str) -> dict[str, Any]:
    """The action as the console shows it (with its verdict), found through the audit trail."""
    entries = client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()
    proposed = next(e for e in entries if e["kind"] == "action.proposed" and e["subject"] == action_id)
    return proposed["payload"]


def _thread(client: TestClient, headers: dict[str, str], thread_id: str) -> dict[str, Any]:
    r = client.get(f"/api/threads/{thread_id}", headers=headers)
    assert r.status_code == 200
    return r.json()


def test_block_card_needs_confirmation_then_runs_once(make_client: AppFactory) -> None:
    client = make_client({"card_type": "debit", "reason": "lost"})
    alice = login(client, "alice")
    _, proposal = say(client, alice, "I lost my debit card, block it please")
    assert proposal["status"] == "confirm"
    assert _staff_action(client, proposal["action"]["action_id"])["verdict"]["decision"] == "ALLOW"
    assert "4821" in proposal["action"]["summary"]
    done = confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    assert done["status"] == "executed"
    assert done["action"]["result"]["status"] == "blocked"
    again = client.post(
        "/api/chat/confirm",
        json={
            "thread_id": proposal["thread_id"],
            "action_id": proposal["action"]["action_id"],
            "confirm": True,
        },
        headers=alice,
    )
    assert again.status_code == 422 and "already executed" in again.json()["error"]["message"]
    client.model.assert_done()


def test_cancelled_action_changes_nothing(make_client: AppFactory) -> None:
    client = make_client({"card_type": "credit", "reason": "stolen"})
    alice = login(client, "alice")
    _, proposal = say(client, alice, "block my credit card")
    done = confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"], yes=False)
    assert done["status"] == "cancelled"
    assert done["action"]["status"] == "cancelled"


def test_large_transfer_waits_for_an_officer_and_executes_exactly_once(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K)
    alice = login(client, "alice")
    _, proposal = say(client, alice, "send 20,000 EUR to Acme Trading GmbH DE75512108001245126199")
    verdict = _staff_action(client, proposal["action"]["action_id"])["verdict"]
    assert verdict["decision"] == "REQUIRE_APPROVAL"
    assert verdict["reasons"], "a held action must say why (to staff)"
    assert "needs a check by our team" in proposal["content"]
    pending = confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    assert pending["status"] == "pending_approval"

    queue = client.get("/api/approvals", headers=login(client, "ana")).json()
    assert len(queue) == 1 and queue[0]["action"]["args"]["amount"] == "20000.00"
    item_id = queue[0]["id"]
    detail = client.get(f"/api/approvals/{item_id}", headers=login(client, "ana")).json()
    assert detail["customer_profile"]["customer_id"] == "cust-001"
    assert any("20,000" in m["content"] or "20000" in m["content"] for m in detail["conversation"])

    r = _approve(client, "ana", item_id)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    ben = login(client, "ben")  # already decided: nothing can run it twice
    assert client.post(f"/api/approvals/{item_id}/claim", headers=ben).status_code == 409
    replay = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER"},
        headers=ben,
    )
    assert replay.status_code == 409

    view = _thread(client, alice, proposal["thread_id"])
    assert view["messages"][-1]["status"] == "executed"
    assert view["messages"][-1]["action"]["result"]["new_balance"] == "64250.00"
    assert view["pending_action"] is None
    audit = client.get("/api/audit/verify", headers=login(client, "ana")).json()
    assert audit["ok"] and audit["entries"] >= 8


def test_the_queue_costs_the_same_queries_however_long_it_is(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K, TRANSFER_20K)
    alice, ana = login(client, "alice"), login(client, "ana")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def queue_after_another_transfer(expected: int) -> int:
        _, proposal = say(client, alice, "send 20,000 EUR to Acme Trading GmbH DE75512108001245126199")
        confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
        statements.clear()
        queue = client.get("/api/approvals", headers=ana).json()
        assert len(queue) == expected and all(i["customer_name"] and i["action"] for i in queue)
        return len(statements)

    engine = client.app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        one, two = queue_after_another_transfer(1), queue_after_another_transfer(2)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert one == two  # related rows are loaded for the whole page, not per item


def test_two_approvers_must_be_different_officers(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K | {"amount": 60000})
    alice = login(client, "alice")
    _, proposal = say(client, alice, "transfer 60000 euro to Acme Trading GmbH DE75512108001245126199")
    assert _staff_action(client, proposal["action"]["action_id"])["verdict"]["approvers_required"] == 2
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    item_id = client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]
    first = _approve(client, "ana", item_id)
    assert first.json()["status"] == "pending" and len(first.json()["decisions"]) == 1
    ana = login(client, "ana")
    client.post(f"/api/approvals/{item_id}/claim", headers=ana)
    twice = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER"},
        headers=ana,
    )
    assert twice.status_code == 403
    client.post(f"/api/approvals/{item_id}/release", headers=ana)
    assert _thread(client, alice, proposal["thread_id"])["messages"][-1]["status"] == "pending_approval"
    assert _approve(client, "ben", item_id).json()["status"] == "approved"
    assert _thread(client, alice, proposal["thread_id"])["messages"][-1]["status"] == "executed"


def test_rejection_tells_the_customer_without_tipping_off(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K)
    alice = login(client, "alice")
    _, proposal = say(client, alice, "send 20000 to Acme Trading GmbH DE75512108001245126199")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    ana = login(client, "ana")
    item_id = client.get("/api/approvals", headers=ana).json()[0]["id"]
    client.post(f"/api/approvals/{item_id}/claim", headers=ana)
    no_code = client.post(f"/api/approvals/{item_id}/decision", json={"decision": "reject"}, headers=ana)
    assert no_code.status_code == 422
    r = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "reject", "reason_code": "AML_CONCERN", "note": "pattern"},
        headers=ana,
    )
    assert r.json()["status"] == "rejected"
    last = _thread(client, alice, proposal["thread_id"])["messages"][-1]
    assert last["status"] == "rejected"
    assert "did not pass our checks" in last["content"] and "AML" not in last["content"]
    assert last["action"]["result"] is None


def test_model_amount_not_in_message_is_never_acted_on(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K | {"amount": 50000})
    alice = login(client, "alice")
    _, msg = say(client, alice, "send 500 EUR to Acme Trading GmbH")
    assert msg["status"] == "clarify" and msg["action"] is None
    assert client.get("/api/approvals", headers=login(client, "ana")).json() == []


def test_typed_yes_confirms_the_pending_action(make_client: AppFactory) -> None:
    client = make_client({"card_type": "debit", "reason": "stolen"})
    alice = login(client, "alice")
    _, proposal = say(client, alice, "my debit card was stolen, block it")
    _, done = say(client, alice, "yes", thread_id=proposal["thread_id"])
    assert done["status"] == "executed"


@pytest.mark.parametrize("who", ["bob", None])
def test_conversations_are_private(make_client: AppFactory, who: str | None) -> None:
    client = make_client("You can block a lost card instantly in the app.")
    _, msg = say(client, login(client, "alice"), "How do I block a lost card?")
    headers = login(client, who) if who else {}
    r = client.get(f"/api/threads/{msg['thread_id']}", headers=headers)
    assert r.status_code == (404 if who else 401)


def test_customers_cannot_use_the_console_api(make_client: AppFactory) -> None:
    client = make_client()
    assert client.get("/api/approvals", headers=login(client, "alice")).status_code == 403
    assert client.post("/api/chat", json={"message": "hi"}, headers=login(client, "ana")).status_code == 403


def test_payee_the_customer_never_named_is_refused(make_client: AppFactory) -> None:
    client = make_client(TRANSFER_20K | {"amount": 300, "payee_name": "Evil Corp Ltd"})
    _, msg = say(client, login(client, "alice"), "send 300 EUR to my sister")
    assert msg["status"] == "clarify" and msg["action"] is None


def test_invented_iban_is_dropped(make_client: AppFactory) -> None:
    client = make_client(
        TRANSFER_20K | {"amount": 300, "payee_name": "Anna Weber", "payee_iban": "DE00000000000000000000"}
    )
    _, msg = say(client, login(client, "alice"), "send 300 EUR to Anna Weber")
    assert msg["status"] == "confirm"
    assert (
        msg["action"]["args"]["payee_iban"] == "DE12500105170648489890"
    )  # the saved payee's, not the model's
    assert msg["action"]["args"]["new_payee"] is False


@pytest.mark.parametrize(
    ("failure", "expected"),
    [(LLMUnavailable("down"), "try again in a few minutes"), (LLMBadOutput("x"), "restate")],
)
def test_model_failure_during_a_request_does_nothing_and_says_so(
    make_client: AppFactory, failure: Exception, expected: str
) -> None:
    client = make_client(failure)
    alice = login(client, "alice")
    _, msg = say(client, alice, "block my card right now")
    assert msg["status"] == "error" and msg["action"] is None
    assert expected in msg["content"]
    thread = client.get(f"/api/threads/{msg['thread_id']}", headers=alice).json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant"]


def test_more_than_the_balance_is_blocked_with_a_reason(make_client: AppFactory) -> None:
    client = make_client(
        TRANSFER_20K | {"amount": 9000, "payee_name": "Mietservice Nord", "payee_iban": None}
    )
    _, msg = say(client, login(client, "bob"), "send 9000 EUR to Mietservice Nord")
    assert msg["status"] == "blocked"
    verdict = _staff_action(client, msg["action"]["action_id"])["verdict"]
    assert "INSUFFICIENT_FUNDS" in {r["reason_code"] for r in verdict["reasons"]}
    assert "more than the available balance" in msg["content"]
