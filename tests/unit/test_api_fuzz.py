"""schemathesis against our own OpenAPI spec, signed in: for every operation, generated requests (valid
and invalid) never get a server error. The model is down throughout (every call raises
LLMUnavailable), so chat turns take their degraded paths, which must not fail either."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from pydantic import BaseModel

from agents.router import EmbeddingRouter
from finagent.llm import ChatMessage, LLMUnavailable
from finagent.settings import Settings
from tests.fakes import KeywordRetriever
from tests.unit.conftest import PASSAGES, login

T = TypeVar("T", bound=BaseModel)
EXAMPLES_PER_OPERATION = 25


class DownModel:
    """A model endpoint that is down for every call: fuzzing must not depend on a script's order."""

    name = "down"

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        raise LLMUnavailable("model endpoint is down (fuzz run)")
        yield ""  # an async generator, like the real client

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T:
        raise LLMUnavailable("model endpoint is down (fuzz run)")

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T:
        raise LLMUnavailable("model endpoint is down (fuzz run)")


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory, router: EmbeddingRouter) -> Iterator[TestClient]:
    from server import create_app

    data = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        data_dir=data, database_url=f"sqlite+aiosqlite:///{data / 'f.db'}", environment="test"
    )
    app = create_app(settings, llm=DownModel(), retriever=KeywordRetriever(PASSAGES), router=router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(fuzz_client: TestClient) -> Any:
    return schemathesis.openapi.from_dict(fuzz_client.get("/openapi.json").json())


def _headers(client: TestClient, path: str) -> dict[str, str]:
    """Customers' endpoints with a customer's token, staff endpoints with an officer's."""
    staff = path.startswith(("/api/approvals", "/api/audit"))
    return login(client, "ana" if staff else "alice")


def _send(client: TestClient, case: Any, signed_in: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**signed_in, **(kwargs.pop("headers", None) or {})}
    return client.request(
        kwargs.pop("method"),
        kwargs.pop("url"),
        headers=headers,  # a generated Authorization header wins: bad tokens are fuzzed too
        params=kwargs.pop("params", None),
        cookies=kwargs.pop("cookies", None) or None,
        content=kwargs.pop("data", None),
        json=kwargs.pop("json", None),
    )


def _fuzz(client: TestClient, operation: Any) -> tuple[int, list[str]]:
    """Generated requests for one operation; returns how many were sent and the server errors."""
    signed_in = _headers(client, operation.path)
    server_errors: list[str] = []
    calls = 0

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
        derandomize=True,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def fuzz(case: Any) -> None:
        nonlocal calls
        calls += 1
        response = _send(client, case, signed_in)
        if response.status_code >= 500:
            where = f"{case.method} {case.formatted_path}"
            server_errors.append(f"{where}: {response.status_code} {response.text[:300]}")

    fuzz()
    return calls, server_errors


def test_no_operation_answers_with_a_server_error(fuzz_client: TestClient, api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    server_errors: list[str] = []
    sent = 0
    for operation in operations:
        calls, errors = _fuzz(fuzz_client, operation)
        assert calls >= 1, f"{operation.method} {operation.path}: no request generated"
        sent, server_errors = sent + calls, server_errors + errors
    # Operations without parameters have one request to send; the others get up to 25 each.
    assert sent >= 10 * len([op for op in operations if op.path_parameters or op.body or op.query])
    assert server_errors == [], "\n".join(server_errors)


def test_the_fuzzer_reaches_every_operation(api_schema: Any) -> None:
    """Every route of the API is in the spec the fuzzer reads (a route missing there goes unfuzzed)."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    for expected in [
        ("POST", "/api/auth/login"),
        ("POST", "/api/chat"),
        ("POST", "/api/chat/confirm"),
        ("GET", "/api/threads/{thread_id}"),
        ("POST", "/api/approvals/{item_id}/decision"),
        ("GET", "/api/audit"),
    ]:
        assert expected in operations, expected
