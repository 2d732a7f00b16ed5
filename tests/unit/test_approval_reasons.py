"""Every officer decision carries a reason code from the packs' closed list (and a note where the code
needs one); with two approvers, both identities and reasons reach the run and the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from finagent.models import Action
from tests.unit.conftest import AppFactory, confirm, login, say

TRANSFER = {
    "amount": 60000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": None,
    "reference": None,
}


def _held(client: TestClient) -> tuple[dict[str, Any], int]:
    alice = login(client, "alice")
    _, proposal = say(client, alice, "transfer 60000 euro to Acme Trading GmbH DE75512108001245126199")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    return proposal, client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]


def _decide(client: TestClient, officer: str, item_id: int, **body: str) -> Any:
    headers = login(client, officer)
    client.post(f"/api/approvals/{item_id}/claim", headers=headers)
    return client.post(f"/api/approvals/{item_id}/decision", json=body, headers=headers)


def test_the_reason_list_is_closed_and_says_what_needs_a_note(make_client: AppFactory) -> None:
    client = make_client()
    codes = {
        c["code"]: c for c in client.get("/api/approvals/reason-codes", headers=login(client, "ana")).json()
    }
    assert codes["VERIFIED_WITH_CUSTOMER"]["applies_to"] == ["approve"]
    assert codes["AML_CONCERN"]["applies_to"] == ["reject"]
    assert codes["FALSE_POSITIVE"]["note_required"] and codes["OTHER"]["note_required"]


def test_an_approval_without_a_fitting_reason_is_refused(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item_id = _held(client)
    for body in (
        {"decision": "approve"},  # no reason at all
        {"decision": "approve", "reason_code": ""},
        {"decision": "approve", "reason_code": "AML_CONCERN"},  # a reason to reject, not to approve
        {"decision": "approve", "reason_code": "MADE_UP"},
        {"decision": "approve", "reason_code": "FALSE_POSITIVE", "note": "  "},  # needs a note
        {"decision": "reject", "reason_code": "VERIFIED_WITH_CUSTOMER"},
    ):
        r = _decide(client, "ana", item_id, **body)
        assert r.status_code == 422, (body, r.text)
    item = client.get(f"/api/approvals/{item_id}", headers=login(client, "ana")).json()
    assert item["decisions"] == [] and item["status"] == "pending"
    ok = _decide(
        client, "ana", item_id, decision="approve", reason_code="FALSE_POSITIVE", note="not the same person"
    )
    assert ok.status_code == 200 and ok.json()["decisions"][0]["reason_code"] == "FALSE_POSITIVE"


def test_both_approvers_reach_the_run_and_the_audit_trail(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    proposal, item_id = _held(client)
    _decide(
        client, "ana", item_id, decision="approve", reason_code="VERIFIED_WITH_CUSTOMER", note="called back"
    )
    final = _decide(
        client, "ben", item_id, decision="approve", reason_code="DOCUMENTS_CHECKED", note="invoice"
    )
    assert final.json()["status"] == "approved" and final.json()["action"]["status"] == "executed"

    run_id = proposal["action"]["action_id"]
    entries = client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()
    executed = next(e for e in entries if e["kind"] == "action.executed" and e["subject"] == run_id)
    approvals = [(d["approver"], d["reason_code"], d["note"]) for d in executed["payload"]["approvals"]]
    assert approvals == [
        ("officer-ana", "VERIFIED_WITH_CUSTOMER", "called back"),
        ("officer-ben", "DOCUMENTS_CHECKED", "invoice"),
    ]
    decided = [e for e in entries if e["kind"] == "approval.approve" and e["subject"] == run_id]
    assert decided[0]["payload"]["outcome"] == "approved"  # newest first: the deciding entry lists both
    assert [d["approver"] for d in decided[0]["payload"]["decisions"]] == ["officer-ana", "officer-ben"]

    async def state() -> dict[str, Any]:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        async with rt.sessions() as session:
            action = await session.get(Action, run_id)
        snapshot = await rt.graph.aget_state({"configurable": {"thread_id": action.run_id}})
        return dict(snapshot.values)

    values = client.portal.call(state)  # type: ignore[union-attr]
    assert [d["approver"] for d in values["approval"]["decisions"]] == ["officer-ana", "officer-ben"]
