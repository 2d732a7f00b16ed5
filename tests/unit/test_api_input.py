"""Bad input gets a clear error and loses nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from tests.unit.conftest import AppFactory, confirm, login, say


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"message": ', 400, "malformed_json"),
        ('{"message": 42}', 422, "invalid_request"),
        ('{"message": "   "}', 422, "invalid_input"),
        ('{"message": "' + "x" * 2001 + '"}', 422, "invalid_input"),
    ],
)
def test_bad_chat_bodies(make_client: AppFactory, body: str, status: int, code: str) -> None:
    client = make_client()
    headers = login(client, "alice") | {"Content-Type": "application/json"}
    r = client.post("/api/chat", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert client.get("/api/threads", headers=headers).json() == []


def test_oversized_body_refused_before_parsing(make_client: AppFactory) -> None:
    client = make_client()
    r = client.post("/api/chat", content="x" * 70_000, headers=login(client, "alice"))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def _chunked(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """An iterator body: the client sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _audit_count(client: TestClient) -> int:
    return len(client.get("/api/audit?limit=1000", headers=login(client, "ana")).json())


def test_chunked_body_over_the_cap_is_refused_and_runs_nothing(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice") | {"Content-Type": "application/json"}
    audit_before = _audit_count(client)
    # Valid JSON, a question that needs no model call, padded to 2 MB with whitespace.
    body = b'{"message": "what is the best cryptocurrency to buy?"' + b" " * 2_000_000 + b"}"
    sent = client.build_request("POST", "/api/chat", content=_chunked(body), headers=alice)
    assert "content-length" not in sent.headers and sent.headers["transfer-encoding"] == "chunked"
    r = client.send(sent)
    assert r.status_code == 413
    assert r.json() == {"error": {"code": "too_large", "message": "request body over 65536 bytes"}}
    assert client.get("/api/threads", headers=alice).json() == []
    assert _audit_count(client) == audit_before
    assert client.model.calls == []


def test_chunked_body_under_the_cap_is_read_whole(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice") | {"Content-Type": "application/json"}
    body = b'{"message": "what is the best cryptocurrency to buy?"' + b" " * 60_000 + b"}"
    r = client.post("/api/chat", content=_chunked(body, size=1000), headers=alice)
    assert r.status_code == 200
    assert [t["title"] for t in client.get("/api/threads", headers=alice).json()] == [
        "what is the best cryptocurrency to buy?"
    ]


def test_wrong_password_and_forged_token(make_client: AppFactory) -> None:
    client = make_client()
    assert client.post("/api/auth/login", json={"username": "alice", "password": "nope"}).status_code == 401
    token = login(client, "alice")["Authorization"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/threads", headers={"Authorization": forged}).status_code == 401


def test_unknown_decision_and_item(make_client: AppFactory) -> None:
    client = make_client()
    ana = login(client, "ana")
    assert (
        client.post("/api/approvals/999/decision", json={"decision": "maybe"}, headers=ana).status_code == 422
    )
    assert client.post("/api/approvals/999/claim", headers=ana).status_code == 404


def test_every_demo_user_can_sign_in_with_the_readme_password(make_client: AppFactory) -> None:
    from finagent.seed import DEMO_USERS

    client = make_client()
    for username, password, role, subject, _ in DEMO_USERS:
        r = client.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200
        assert (r.json()["role"], r.json()["subject"]) == (role, subject)
        assert f"`{username}` / `{password}`" in (ROOT / "README.md").read_text()


BIDI_PAYEE = "Acme\u202e Trading\u202c GmbH"  # shows "Trading" reversed
TRANSFER_20K = {  # the model's slots for the message below, as the customer sees it
    "amount": 20000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": "DE75512108001245126199",
    "reference": None,
}


def test_hidden_characters_are_removed_from_the_chat_message_before_anything_sees_it(
    make_client: AppFactory,
) -> None:
    client = make_client()
    alice = login(client, "alice")
    _, msg = say(client, alice, "what is the best\u200b crypto\u00adcurrency\u202e to buy?\u202c")
    assert msg["status"] == "no_answer" and client.model.calls == []
    clean = "what is the best cryptocurrency to buy?"
    thread = client.get(f"/api/threads/{msg['thread_id']}", headers=alice).json()
    assert thread["messages"][0]["content"] == clean
    assert client.get("/api/threads", headers=alice).json()[0]["title"] == clean
    received = [
        e
        for e in client.get("/api/audit", headers=login(client, "ana")).json()
        if e["kind"] == "message.received"
    ]
    assert [e["payload"]["content"] for e in received] == [clean]


def test_a_message_of_only_invisible_characters_is_refused_and_stores_nothing(
    make_client: AppFactory,
) -> None:
    client = make_client()
    alice = login(client, "alice")
    r = client.post("/api/chat", json={"message": "\u202e\u200b\ufeff \u2066"}, headers=alice)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert client.get("/api/threads", headers=alice).json() == []


def test_a_user_name_with_hidden_characters_is_refused(make_client: AppFactory) -> None:
    client = make_client()
    r = client.post("/api/auth/login", json={"username": "ali\u200bce", "password": "alice-demo"})
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "invalid_request",
        "message": "username: Value error, contains invisible or control characters (U+200B)",
    }


def test_the_officer_approves_what_the_customer_saw_without_hidden_characters(
    make_client: AppFactory,
) -> None:
    client = make_client(TRANSFER_20K)
    alice = login(client, "alice")
    _, proposal = say(client, alice, f"send 20000 EUR to {BIDI_PAYEE} DE75512108001245126199")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    ana = login(client, "ana")
    item_id = client.get("/api/approvals", headers=ana).json()[0]["id"]
    detail = client.get(f"/api/approvals/{item_id}", headers=ana).json()
    assert detail["conversation"][0]["content"] == (
        "send 20000 EUR to Acme Trading GmbH DE75512108001245126199"
    )
    assert client.post(f"/api/approvals/{item_id}/claim", headers=ana).status_code == 200

    hidden_code = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "reject", "reason_code": "AML_CONCERN\u202e", "note": "x"},
        headers=ana,
    )
    assert hidden_code.status_code == 422
    assert "reason_code" in hidden_code.json()["error"]["message"]
    assert client.get(f"/api/approvals/{item_id}", headers=ana).json()["decisions"] == []

    r = client.post(
        f"/api/approvals/{item_id}/decision",
        json={
            "decision": "reject",
            "reason_code": "AML_CONCERN",
            "note": "payee\u202e 0021 RUE\u202c\r\nline 2",
        },
        headers=ana,
    )
    assert r.status_code == 200
    assert r.json()["decisions"][0]["note"] == "payee 0021 RUE\nline 2"
    rejected = [e for e in client.get("/api/audit", headers=ana).json() if e["kind"] == "approval.reject"]
    assert rejected[0]["payload"]["note"] == "payee 0021 RUE\nline 2"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "message"),
    [
        (
            b'{"message": "\xff\xfe"}',
            "application/json",
            400,
            "malformed_json",
            "the request body is not valid JSON",
        ),
        (
            b'{"message": "hello"}',
            "text/plain",
            422,
            "invalid_request",
            "body: Input should be a valid dictionary",
        ),
        (b"", "application/json", 422, "invalid_request", "body: Field required"),
    ],
)
def test_undecodable_or_mislabelled_bodies_get_the_error_shape_and_store_nothing(
    make_client: AppFactory, body: bytes, content_type: str, status: int, code: str, message: str
) -> None:
    client = make_client()
    alice = login(client, "alice")
    r = client.post("/api/chat", content=body, headers=alice | {"Content-Type": content_type})
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"].startswith(message)
    assert client.get("/api/threads", headers=alice).json() == []


def test_unknown_paths_and_methods_get_the_error_shape(make_client: AppFactory) -> None:
    client = make_client()
    assert client.get("/api/nothing-here").json()["error"]["code"] == "not_found"
    r = client.get("/api/chat")
    assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
