"""The staff work queue over HTTP: each role sees only its queues, claims are exclusive, supervisors
reassign, items past their SLA escalate, held actions past their expiry are rejected and the customer is
told, and every change arrives as a live event."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from finagent import work_queue
from finagent.models import ApprovalDecision
from finagent.settings import Settings
from tests.unit.conftest import AppFactory, confirm, login, say, sse_events

TRANSFER = {
    "amount": 60000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": None,
    "reference": None,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The background sweep stays off: these tests sweep when they move the clock.
    return settings.model_copy(update={"queue_sweep_interval_s": 0, "queue_events_max_s": 1.5})


def _held(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice's 60,000 EUR transfer, confirmed and held for two approvers; returns it and its queue item."""
    alice = login(client, "alice")
    _, proposal = say(client, alice, "transfer 60000 euro to Acme Trading GmbH DE75512108001245126199")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    page = client.get("/api/queue", headers=login(client, "ana")).json()
    assert page["total"] == 1
    return proposal, page["items"][0]


def _advance(client: TestClient, hours: float) -> dict[str, Any]:
    r = client.post("/api/test/clock", json={"advance_s": hours * 3600}, headers=login(client, "sara"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_held_action_is_a_queue_item_with_priority_sla_and_its_subject(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    proposal, item = _held(client)
    assert item["kind"] == "approval" and item["role"] == "compliance_officer"
    assert item["subject_type"] == "action" and item["subject_id"] == proposal["action"]["action_id"]
    assert item["thread_id"] == proposal["thread_id"] and item["customer_id"] == "cust-001"
    assert item["approvals_needed"] == 2 and item["priority_label"] in ("urgent", "high")
    assert item["sla_due_at"] > item["created_at"] and item["expires_at"] > item["sla_due_at"]
    assert item["payload"]["customer_name"] == "Alice Martin" and not item["sla_breached"]
    ana = login(client, "ana")
    for query, total in [
        ("q=alice", 1),
        ("q=ACME", 1),
        ("q=nobody-here", 0),
        ("kind=complaint", 0),
        ("priority=4", 0),
        ("claimed=unclaimed", 1),
        ("claimed=me", 0),
        ("status=all&sort=newest", 1),
    ]:
        r = client.get(f"/api/queue?{query}", headers=ana)
        assert r.status_code == 200 and r.json()["total"] == total, (query, r.text)
    history = client.get(f"/api/queue/{item['id']}", headers=ana).json()["history"]
    assert [e["event"] for e in history] == ["queued"]


def test_each_role_sees_only_its_queues(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item = _held(client)
    uma, kai, otto, sara = (login(client, u) for u in ("uma", "kai", "otto", "sara"))
    assert client.get("/api/queue", headers=uma).json()["total"] == 0  # the underwriter's own queue
    for headers, role in [(uma, "compliance_officer"), (kai, "underwriter"), (uma, "aml_analyst")]:
        r = client.get(f"/api/queue?role={role}", headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/queue/{item['id']}", headers=uma).status_code == 404
    assert client.get("/api/approvals", headers=uma).status_code == 403
    assert client.get("/api/queue", headers=login(client, "alice")).status_code == 403  # customers
    # The auditor reads every queue and the approvals, and can never claim or decide.
    assert client.get("/api/queue", headers=otto).json()["total"] == 1
    assert client.get(f"/api/approvals/{item['id']}", headers=otto).status_code == 200
    assert client.post(f"/api/queue/{item['id']}/claim", headers=otto).status_code == 403
    assert client.post(f"/api/approvals/{item['id']}/claim", headers=otto).status_code == 403
    decision = {"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER"}
    decided = client.post(f"/api/approvals/{item['id']}/decision", json=decision, headers=otto)
    assert decided.status_code == 403
    # The supervisor's own queue is what escalated; every role's queue on request.
    assert client.get("/api/queue", headers=sara).json()["total"] == 0
    assert client.get("/api/queue?role=compliance_officer", headers=sara).json()["total"] == 1


def test_claims_are_exclusive_and_only_a_supervisor_reassigns(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item = _held(client)
    ana, ben, sara = login(client, "ana"), login(client, "ben"), login(client, "sara")
    url = f"/api/queue/{item['id']}"
    assert client.post(f"{url}/claim", headers=ben).json()["claimed_by"] == "officer-ben"
    taken = client.post(f"{url}/claim", headers=ana)
    assert taken.status_code == 409 and "officer-ben" in taken.json()["error"]["message"]
    assert client.post(f"{url}/release", headers=ana).status_code == 409
    move = {"to_user": "officer-ana", "note": "Ben is out this afternoon"}
    assert client.post(f"{url}/reassign", json=move, headers=ana).status_code == 403
    to_underwriter = client.post(f"{url}/reassign", json={**move, "to_user": "staff-uma"}, headers=sara)
    assert to_underwriter.status_code == 409 and "underwriter" in to_underwriter.json()["error"]["message"]
    assert client.post(f"{url}/reassign", json={**move, "note": ""}, headers=sara).status_code == 422
    moved = client.post(f"{url}/reassign", json=move, headers=sara)
    assert moved.status_code == 200 and moved.json()["claimed_by"] == "officer-ana"
    assert client.get("/api/queue?claimed=me", headers=ana).json()["total"] == 1
    history = client.get(url, headers=login(client, "otto")).json()["history"]
    assert [e["event"] for e in history] == ["queued", "claimed", "reassigned"]
    assert history[-1]["detail"] == {"from": "officer-ben", "to": "officer-ana", "note": move["note"]}
    assert history[-1]["actor"] == "supervisor:staff-sara"
    staff = client.get("/api/queue/staff?role=compliance_officer", headers=sara).json()
    assert {s["subject"] for s in staff} == {"officer-ana", "officer-ben", "staff-sara"}
    assert client.get("/api/queue/staff", headers=ana).status_code == 403


def test_self_approval_is_refused_and_every_decision_has_a_reason(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    proposal, item = _held(client)
    ana, ben = login(client, "ana"), login(client, "ben")
    url = f"/api/approvals/{item['id']}"
    client.post(f"{url}/claim", headers=ana)
    first = {"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER", "note": "called back"}
    assert client.post(f"{url}/decision", json=first, headers=ana).json()["status"] == "pending"
    # Ana approved once; she cannot be the second approver of the same item.
    assert client.post(f"{url}/claim", headers=ana).status_code == 200
    again = client.post(f"{url}/decision", json={**first, "reason_code": "DOCUMENTS_CHECKED"}, headers=ana)
    assert again.status_code == 403 and "already decided" in again.json()["error"]["message"]
    # The customer who asked cannot approve her own request either.
    alice = login(client, "alice")
    assert client.post(f"{url}/decision", json=first, headers=alice).status_code == 403
    client.post(f"{url}/release", headers=ana)
    client.post(f"{url}/claim", headers=ben)
    no_reason = client.post(f"{url}/decision", json={"decision": "approve"}, headers=ben)
    assert no_reason.status_code == 422
    done = client.post(f"{url}/decision", json={**first, "reason_code": "DOCUMENTS_CHECKED"}, headers=ben)
    assert done.json()["status"] == "approved" and done.json()["action"]["status"] == "executed"
    assert proposal["action"]["action_id"] == done.json()["subject_id"]

    async def decisions() -> list[ApprovalDecision]:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        async with rt.sessions() as session:
            from sqlalchemy import select

            return list((await session.scalars(select(ApprovalDecision))).all())

    rows = client.portal.call(decisions)  # type: ignore[union-attr]
    assert [(d.approver, d.reason_code) for d in rows] == [
        ("officer-ana", "VERIFIED_WITH_CUSTOMER"),
        ("officer-ben", "DOCUMENTS_CHECKED"),
    ]
    assert all(d.reason_code for d in rows)


def test_an_item_past_its_sla_escalates_to_the_supervisors_once(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item = _held(client)
    sara = login(client, "sara")
    assert _advance(client, 3)["escalated"] == []  # the approval SLA is 4 hours
    swept = _advance(client, 1.5)
    assert swept["escalated"] == [item["id"]] and swept["expired_actions"] == []
    assert _advance(client, 1)["escalated"] == []  # once
    escalated = client.get("/api/queue", headers=sara).json()
    assert [i["id"] for i in escalated["items"]] == [item["id"]]
    assert escalated["items"][0]["escalated"] and escalated["items"][0]["sla_breached"]
    # Still in the officers' queue, marked, and the supervisor may take it.
    mine = client.get("/api/queue?escalated=true", headers=login(client, "ana")).json()
    assert mine["total"] == 1
    history = client.get(f"/api/queue/{item['id']}", headers=sara).json()["history"]
    assert [e["event"] for e in history] == ["queued", "escalated"] and history[1]["actor"] == "system:sla"
    assert client.post(f"/api/queue/{item['id']}/claim", headers=sara).status_code == 200
    entries = client.get("/api/audit?limit=1000", headers=sara).json()
    assert [e["kind"] for e in entries].count("queue.escalated") == 1


def test_a_lapsed_claim_frees_the_item(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item = _held(client)
    ana, ben = login(client, "ana"), login(client, "ben")
    client.post(f"/api/queue/{item['id']}/claim", headers=ana)
    assert client.post(f"/api/queue/{item['id']}/claim", headers=ben).status_code == 409
    assert _advance(client, 0.6)["claims_lapsed"] == [item["id"]]  # claims last 30 minutes
    assert client.post(f"/api/queue/{item['id']}/claim", headers=ben).json()["claimed_by"] == "officer-ben"
    decision = {"decision": "reject", "reason_code": "AML_CONCERN"}
    assert client.post(f"/api/approvals/{item['id']}/decision", json=decision, headers=ana).status_code == 409


def test_an_expired_approval_is_rejected_with_a_reason_and_the_customer_is_told(
    make_client: AppFactory,
) -> None:
    client = make_client(TRANSFER)
    proposal, item = _held(client)
    swept = _advance(client, 73)  # approvals expire after 72 hours
    assert swept["expired_actions"] == [proposal["action"]["action_id"]]
    otto = login(client, "otto")
    view = client.get(f"/api/approvals/{item['id']}", headers=otto).json()
    assert view["status"] == "rejected" and view["action"]["status"] == "rejected"
    assert [(d["approver"], d["decision"], d["reason_code"]) for d in view["decisions"]] == [
        ("system:expiry", "reject", "APPROVAL_EXPIRED")
    ]
    assert view["decisions"][0]["note"].startswith("no decision within")
    assert [e["event"] for e in view["history"]][-1] == "rejected"
    thread = client.get(f"/api/threads/{proposal['thread_id']}", headers=login(client, "alice")).json()
    last = thread["messages"][-1]
    assert last["role"] == "assistant" and last["status"] == "rejected"
    assert "not reviewed in time" in last["content"] and "APPROVAL_EXPIRED" not in last["content"]
    entries = client.get("/api/audit?limit=1000", headers=otto).json()
    assert any(e["kind"] == "approval.expired" and e["subject"] == item["subject_id"] for e in entries)
    assert _advance(client, 1)["expired_actions"] == []  # once
    # Nobody can pick the sweep's reason by hand.
    codes = {c["code"] for c in client.get("/api/approvals/reason-codes", headers=otto).json()}
    assert "APPROVAL_EXPIRED" not in codes and "AML_CONCERN" in codes


def test_the_clock_endpoint_exists_only_in_tests(make_client: AppFactory, settings: Settings) -> None:
    client = make_client()
    r = client.post("/api/test/clock", json={"advance_s": -5}, headers=login(client, "sara"))
    assert r.status_code == 422
    assert client.post("/api/test/clock", json={"advance_s": 5}).status_code == 401


def test_live_events_carry_queue_changes_the_role_may_see(make_client: AppFactory) -> None:
    client = make_client(TRANSFER)
    _, item = _held(client)
    ana, uma = login(client, "ana"), login(client, "uma")
    client.post(f"/api/queue/{item['id']}/claim", headers=ana)
    events = sse_events(client.get("/api/queue/events?after=0", headers=ana).text)
    changes = [(d["item_id"], d["event"]) for name, d in events if name == "queue"]
    assert changes == [(item["id"], "queued"), (item["id"], "claimed")]
    assert events[0][0] == "ready" and events[-1][0] == "end"
    # A reconnect with Last-Event-ID gets only what came after.
    after_first = client.get("/api/queue/events", headers={**ana, "Last-Event-ID": "1"}).text
    assert [d["event"] for n, d in sse_events(after_first) if n == "queue"] == ["claimed"]
    theirs = sse_events(client.get("/api/queue/events?after=0", headers=uma).text)
    assert [n for n, _ in theirs] == ["ready", "end"]  # not the underwriter's queue


def test_any_layer_can_enqueue_another_kind(make_client: AppFactory) -> None:
    client = make_client()

    async def refer() -> None:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        async with rt.sessions() as session:
            for _ in range(2):  # idempotent per subject
                await work_queue.enqueue(
                    session,
                    settings=rt.settings,
                    now=rt.clock.now(),
                    kind="loan_referral",
                    subject_type="application",
                    subject_id="app-77",
                    title="Personal loan 25,000 EUR · Bob Keller",
                    actor="agent:risk",
                    priority=2,
                    customer_id="cust-002",
                    payload={"score": 512},
                )
            await session.commit()

    client.portal.call(refer)  # type: ignore[union-attr]
    page = client.get("/api/queue", headers=login(client, "uma")).json()
    assert page["total"] == 1 and page["items"][0]["kind"] == "loan_referral"
    assert page["items"][0]["payload"] == {"score": 512}
    assert client.get("/api/queue", headers=login(client, "ana")).json()["total"] == 0
    assert client.get("/api/queue?kind=bogus", headers=login(client, "uma")).status_code == 422


def test_two_servers_sweeping_at_once_escalate_and_expire_each_item_once(make_client: AppFactory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    first = make_client(TRANSFER)
    second = make_client()  # another server process on the same database
    proposal, item = _held(first)
    headers = [login(first, "sara"), login(second, "sara")]

    def advance(pair: tuple[TestClient, dict[str, str]]) -> dict[str, Any]:
        client, auth = pair
        r = client.post("/api/test/clock", json={"advance_s": 73 * 3600}, headers=auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(advance, [(first, headers[0]), (second, headers[1])]))
    assert sorted(len(r["escalated"]) for r in results) == [0, 1]
    assert sorted(len(r["expired_actions"]) for r in results) == [0, 1]
    history = first.get(f"/api/queue/{item['id']}", headers=headers[0]).json()["history"]
    assert [e["event"] for e in history].count("escalated") == 1
    assert [e["event"] for e in history].count("rejected") == 1
    view = first.get(f"/api/approvals/{item['id']}", headers=headers[0]).json()
    assert [d["reason_code"] for d in view["decisions"]] == ["APPROVAL_EXPIRED"]
    thread = first.get(f"/api/threads/{proposal['thread_id']}", headers=login(first, "alice")).json()
    assert [m["status"] for m in thread["messages"]].count("rejected") == 1  # the customer is told once
