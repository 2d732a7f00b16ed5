"""Invariant 3 across a crash: an approval recorded just before the process died still executes, once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agents.router import EmbeddingRouter
from finagent.settings import Settings
from server import create_app
from tests.fakes import KeywordRetriever, ScriptedChatModel
from tests.unit.conftest import PASSAGES, confirm, login, say

TRANSFER = {
    "amount": 12000,
    "currency": "EUR",
    "payee_name": "Anna Weber",
    "payee_iban": None,
    "reference": None,
}


def _app(settings: Settings, router: EmbeddingRouter, *script: object) -> TestClient:
    return TestClient(
        create_app(
            settings, llm=ScriptedChatModel(*script), retriever=KeywordRetriever(PASSAGES), router=router
        )
    )


def test_approval_survives_a_crash_before_execution(
    settings: Settings, router: EmbeddingRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _app(settings, router, TRANSFER) as client:
        alice = login(client, "alice")
        _, proposal = say(client, alice, "send 12000 EUR to Anna Weber")
        confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
        ana = login(client, "ana")
        item_id = client.get("/api/approvals", headers=ana).json()[0]["id"]
        client.post(f"/api/approvals/{item_id}/claim", headers=ana)

        async def crash(*args: object) -> None:
            raise RuntimeError("process killed between the decision and the execution")

        monkeypatch.setattr("app.approvals.resume_run", crash)
        with pytest.raises(RuntimeError):
            client.post(
                f"/api/approvals/{item_id}/decision",
                json={"decision": "approve", "reason_code": "DOCUMENTS_CHECKED"},
                headers=ana,
            )
        monkeypatch.undo()
        assert (
            client.get(f"/api/threads/{proposal['thread_id']}", headers=alice).json()["messages"][-1][
                "status"
            ]
            == "pending_approval"
        )

    for _ in range(2):  # restart twice: the second start must find nothing left to do
        with _app(settings, router) as client:
            alice = login(client, "alice")
            messages = client.get(f"/api/threads/{proposal['thread_id']}", headers=alice).json()["messages"]
            assert messages[-1]["status"] == "executed"
            assert [m["status"] for m in messages].count("executed") == 1
            assert messages[-1]["action"]["result"]["new_balance"] == "72250.00"
