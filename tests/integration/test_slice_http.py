"""The vertical slice over HTTP against the real server and the real embedded vLLM."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


def _login(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/login", json={"username": user, "password": f"{user}-demo"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _events(base: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    with httpx.stream("POST", f"{base}{path}", json=body, headers=headers, timeout=180) as r:
        assert r.status_code == 200, r.read()
        name = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events


def _final(events: list[tuple[str, Any]]) -> dict[str, Any]:
    return next(data for name, data in events if name == "message")


def test_lost_card_question_is_answered_by_the_model_with_a_citation(live_server: str) -> None:
    alice = _login(live_server, "alice")
    events = _events(live_server, "/api/chat", {"message": "How do I block a lost card?"}, alice)
    msg = _final(events)
    tokens = [d["text"] for name, d in events if name == "token"]
    assert msg["status"] == "answered", msg
    assert tokens, "the reply was not streamed from the model"
    # Nothing shown is taken back: the final message starts with exactly what was streamed.
    assert msg["content"].startswith("".join(tokens).rstrip())
    assert msg["citations"], "an answer from the knowledge base must cite it"
    cited = " ".join(f"{c['title']} {c['section']}" for c in msg["citations"]).lower()
    assert "card" in cited or "卡" in cited


def test_transfer_needs_approval_and_executes_once_visible_to_customer(live_server: str) -> None:
    carol = _login(live_server, "carol")  # alice's daily limit belongs to the browser tests
    events = _events(
        live_server,
        "/api/chat",
        {"message": "Please transfer EUR 20000 to Acme Trading GmbH, IBAN DE75512108001245126199"},
        carol,
    )
    proposal = _final(events)
    assert proposal["status"] == "confirm", proposal
    action = proposal["action"]
    assert action["args"]["amount"] == "20000.00"
    assert "verdict" not in action  # the customer never sees the rule hits
    thread_id = events[0][1]["thread_id"]

    pending = _final(
        _events(
            live_server,
            "/api/chat/confirm",
            {"thread_id": thread_id, "action_id": action["action_id"], "confirm": True},
            carol,
        )
    )
    assert pending["status"] == "pending_approval"

    ana = _login(live_server, "ana")
    queue = httpx.get(f"{live_server}/api/approvals", headers=ana).json()
    item = next(i for i in queue if i["action"]["action_id"] == action["action_id"])
    assert item["action"]["verdict"]["decision"] == "REQUIRE_APPROVAL"  # staff do
    assert httpx.post(f"{live_server}/api/approvals/{item['id']}/claim", headers=ana).status_code == 200
    decided = httpx.post(
        f"{live_server}/api/approvals/{item['id']}/decision",
        json={"decision": "approve", "reason_code": "CONSISTENT_WITH_PROFILE", "note": "known supplier"},
        headers=ana,
        timeout=60,
    )
    assert decided.json()["status"] == "approved"
    replay = httpx.post(
        f"{live_server}/api/approvals/{item['id']}/decision",
        json={"decision": "approve", "reason_code": "CONSISTENT_WITH_PROFILE"},
        headers=ana,
    )
    assert replay.status_code == 409

    view = httpx.get(f"{live_server}/api/threads/{thread_id}", headers=carol).json()
    assert view["messages"][-1]["status"] == "executed"
    audit = httpx.get(f"{live_server}/api/audit", params={"limit": 1000}, headers=ana).json()
    executed = [e for e in audit if e["kind"] == "action.executed" and e["subject"] == action["action_id"]]
    assert len(executed) == 1
    assert httpx.get(f"{live_server}/api/audit/verify", headers=ana).json()["ok"]
