"""Bad input gets a clear error and loses nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from tests.unit.conftest import AppFactory, login


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
