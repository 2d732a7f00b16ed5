"""finagent's own model client against the real embedded vLLM, and against a dead or garbled endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pydantic import BaseModel

from agents.service.schemas import TransferSlots
from finagent.embedded_llm import Endpoint
from finagent.llm import LLMBadOutput, LLMUnavailable, OpenAIChatModel
from finagent.settings import Settings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def _client(base_url: str, api_key: str = "k", model: str = "m") -> OpenAIChatModel:
    return OpenAIChatModel(
        base_url=base_url,
        api_key=api_key,
        model=model,
        settings=Settings(llm_max_retries=0, llm_timeout_s=20),
    )


@pytest.fixture
def real(llm_endpoint: Endpoint) -> OpenAIChatModel:
    return _client(llm_endpoint.base_url, llm_endpoint.api_key, llm_endpoint.model)


async def test_streams_prose(real: OpenAIChatModel) -> None:
    pieces = [p async for p in real.stream([{"role": "user", "content": "Say hello to a bank customer."}])]
    assert len(pieces) > 1 and "".join(pieces).strip()


async def test_structured_output_fills_transfer_slots(real: OpenAIChatModel) -> None:
    slots = await real.structured(
        [
            {"role": "system", "content": "Extract the transfer details."},
            {"role": "user", "content": "Please send 750 EUR to Maria Lopez"},
        ],
        TransferSlots,
    )
    assert slots.amount == 750
    assert "maria" in slots.payee_name.lower()


class Weather(BaseModel):
    city: str


async def test_named_tool_call(real: OpenAIChatModel) -> None:
    call = await real.tool_call(
        [{"role": "user", "content": "What's the weather in Frankfurt?"}],
        Weather,
        description="Look up the weather for a city",
    )
    assert call.city.lower().startswith("frankfurt")


async def test_dead_endpoint_is_unavailable() -> None:
    dead = _client(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMUnavailable):
        await dead.structured([{"role": "user", "content": "hi"}], Weather)


@pytest.fixture
def garbled_endpoint() -> Iterator[str]:
    class Garbled(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "{not json at all"},
                    }
                ],
            }
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Garbled)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


async def test_garbled_reply_is_bad_output(garbled_endpoint: str) -> None:
    with pytest.raises(LLMBadOutput):
        await _client(garbled_endpoint).structured([{"role": "user", "content": "hi"}], Weather)
