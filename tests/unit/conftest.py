"""Fixtures for API-level unit tests: a real app (real graph, database, policy engine, router) whose
model is scripted, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agents.router import EmbeddingRouter
from finagent.settings import Settings
from knowledge.types import Hit
from tests.conftest import PG_ADMIN
from tests.fakes import KeywordRetriever, ScriptedChatModel

PASSAGES = [
    Hit(
        chunk_id="c1",
        doc_id="card-lost-stolen",
        title="Lost or stolen card",
        section="Block your card immediately",
        text="Block a lost or stolen card instantly and free of charge in the chat assistant, in the app, or "
        "by "
        "calling the 24/7 card hotline +49 69 0000 1100. A replacement card arrives in 5-7 business days.",
        score=1.0,
        relevance=1.0,
    ),
    Hit(
        chunk_id="c2",
        doc_id="fees-international",
        title="International transfers",
        section="Fees",
        text="Non-SEPA transfers cost 0.25 % of the amount, at least EUR 15 and at most EUR 75.",
        score=1.0,
        relevance=1.0,
    ),
    Hit(
        chunk_id="c3",
        doc_id="proc-held-transfer",
        title="Handling a held transfer",
        section="Staff steps",
        text="Internal: check the rule hits, call the customer back on the number on file.",
        score=1.0,
        relevance=1.0,
        audience="internal",
    ),
]


@pytest.fixture(scope="session")
def router() -> EmbeddingRouter:
    """The server's own router, the intent catalogue's classifier included (trained once, then cached)."""
    from app.runtime import _default_router

    return _default_router(Settings())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'finagent.db'}"
        return
    import psycopg

    name = f"finagent_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, environment="test", kb_min_relevance=0.3)


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, router: EmbeddingRouter) -> Iterator[AppFactory]:
    """make_client(*script) -> a started TestClient whose model follows the script."""
    from server import create_app

    clients: list[TestClient] = []

    def factory(*script: Any) -> TestClient:
        model = ScriptedChatModel(*script)
        client = TestClient(
            create_app(settings, llm=model, retriever=KeywordRetriever(PASSAGES), router=router)
        )
        client.__enter__()
        client.model = model  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.__exit__(None, None, None)
    for c in clients:  # a scripted reply nobody asked for means the code took another path
        c.model.assert_done()  # type: ignore[attr-defined]


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": f"{username}-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def say(
    client: TestClient,
    headers: dict[str, str],
    message: str,
    thread_id: str | None = None,
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """Send a chat message; returns all events and the final assistant message."""
    r = client.post("/api/chat", json={"message": message, "thread_id": thread_id}, headers=headers)
    assert r.status_code == 200, r.text
    events = sse_events(r.text)
    assert events[0][0] == "thread" and events[-1][0] == "done"
    final = [data for name, data in events if name == "message"]
    assert final, f"no message event in {events}"
    return events, final[0] | {"thread_id": events[0][1]["thread_id"]}


def confirm(
    client: TestClient, headers: dict[str, str], thread_id: str, action_id: str, yes: bool = True
) -> dict[str, Any]:
    r = client.post(
        "/api/chat/confirm",
        json={"thread_id": thread_id, "action_id": action_id, "confirm": yes},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return next(data for name, data in sse_events(r.text) if name == "message")
