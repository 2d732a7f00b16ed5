"""No tipping-off (invariant 9): whatever a rule found, the customer reads only the pack's neutral words.

Every customer-facing path is checked against what staff see for the same action: the SSE stream of
the chat and confirm calls, the conversation view, the conversation list.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.conftest import AppFactory, login, say, sse_events

ACME_IBAN = "DE75512108001245126199"


def _slots(amount: float, payee: str) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR", "payee_name": payee, "payee_iban": None, "reference": None}


def _staff_verdict(client: TestClient, action_id: str) -> dict[str, Any]:
    entries = client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()
    proposed = next(e for e in entries if e["kind"] == "action.proposed" and e["subject"] == action_id)
    return dict(proposed["payload"]["verdict"])


def _secrets(verdict: dict[str, Any], customer_wrote: str) -> set[str]:
    """What only staff may see: rule ids, reason codes, explanations, evidence the customer did not write."""
    found: set[str] = set()
    for reason in verdict["reasons"]:
        found |= {reason["rule_id"], reason["reason_code"], reason["explanation"].strip()[:40]}
        for key, value in reason["evidence"].items():
            if key in ("rule_version",) or not isinstance(value, str) or len(value) < 4:
                continue
            if value.lower() not in customer_wrote.lower():
                found.add(value)
    return found


def _customer_surfaces(client: TestClient, headers: dict[str, str], thread_id: str, *bodies: str) -> str:
    view = client.get(f"/api/threads/{thread_id}", headers=headers).json()
    listing = client.get("/api/threads", headers=headers).json()
    return "\n".join([*bodies, json.dumps(view, ensure_ascii=False), json.dumps(listing, ensure_ascii=False)])


def _assert_nothing_leaks(surfaces: str, secrets: set[str]) -> None:
    assert secrets, "the staff side should have something to hide"
    leaked = sorted(s for s in secrets if s.lower() in surfaces.lower())
    assert not leaked, f"the customer could read: {leaked}"
    for word in ("verdict", "rule_id", "evidence", "sanction", "watch list", "watchlist", "AML", "list_name"):
        assert word.lower() not in surfaces.lower(), word


def test_a_sanctions_match_blocks_with_neutral_words(make_client: AppFactory) -> None:
    client = make_client(_slots(100, "Борис Кравцов"))
    alice = login(client, "alice")
    message = f"send 100 EUR to Борис Кравцов, IBAN {ACME_IBAN}"
    r = client.post("/api/chat", json={"message": message}, headers=alice)
    events = dict(sse_events(r.text))
    msg, thread_id = events["message"], events["thread"]["thread_id"]
    assert msg["status"] == "blocked"
    assert "We can't make this payment." in msg["content"]
    verdict = _staff_verdict(client, msg["action"]["action_id"])
    assert verdict["decision"] == "BLOCK" and verdict["reasons"][0]["evidence"]["list_name"]
    _assert_nothing_leaks(_customer_surfaces(client, alice, thread_id, r.text), _secrets(verdict, message))


def test_a_held_transfer_and_its_rejection_say_nothing_of_the_rules(make_client: AppFactory) -> None:
    # Bulgaria is a high-risk jurisdiction in the demo pack: any amount is held for review.
    client = make_client(_slots(1500, "Petar Ivanov"))
    bob = login(client, "bob")
    message = "send EUR 1,500 to Petar Ivanov, IBAN BG80 BNBG 9661 1020 3456 78"
    _, proposal = say(client, bob, message)
    assert proposal["status"] == "confirm"
    assert "needs a check by our team" in proposal["content"]
    confirm_call = client.post(
        "/api/chat/confirm",
        json={
            "thread_id": proposal["thread_id"],
            "action_id": proposal["action"]["action_id"],
            "confirm": True,
        },
        headers=bob,
    )
    ana = login(client, "ana")
    item = client.get("/api/approvals", headers=ana).json()[0]
    assert item["action"]["verdict"]["reasons"], "staff see the rule hits"
    client.post(f"/api/approvals/{item['id']}/claim", headers=ana)
    client.post(
        f"/api/approvals/{item['id']}/decision",
        json={"decision": "reject", "reason_code": "AML_CONCERN", "note": "payee bank flagged"},
        headers=ana,
    )
    verdict = _staff_verdict(client, proposal["action"]["action_id"])
    assert {"TM-JUR-01", "HIGH_RISK_JURISDICTION"} <= _secrets(verdict, message)
    surfaces = _customer_surfaces(client, bob, proposal["thread_id"], confirm_call.text)
    _assert_nothing_leaks(surfaces, _secrets(verdict, message) | {"AML_CONCERN", "payee bank flagged"})
    assert "did not pass our checks" in surfaces
