"""Token counts come from the endpoint's own `usage`: finagent's client against a scripted
OpenAI-compatible endpoint (an httpx transport, no socket), streamed and structured."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from finagent.llm import OpenAIChatModel
from finagent.metrics import LLM_TOKENS
from finagent.settings import Settings

pytestmark = pytest.mark.integration


async def test_model_tokens_are_counted_from_the_endpoints_usage() -> None:
    """The real client against a scripted OpenAI-compatible endpoint: `usage` lands in the counter."""

    def endpoint(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream_options"] == {"include_usage": True}
        chunks = [
            {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [
                {"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]},
            {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [],
             "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}},
        ]  # fmt: skip
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    model = OpenAIChatModel(base_url="http://llm.test/v1", api_key="k", model="m", settings=Settings())
    model._client = openai.AsyncOpenAI(
        base_url="http://llm.test/v1",
        api_key="k",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(endpoint)),
    )
    model._completions = model._client.chat.completions
    prompt, completion = (LLM_TOKENS.labels(k)._value.get() for k in ("prompt", "completion"))
    text = "".join([piece async for piece in model.stream([{"role": "user", "content": "hi"}])])
    assert text == "Hello"
    assert LLM_TOKENS.labels("prompt")._value.get() - prompt == 11
    assert LLM_TOKENS.labels("completion")._value.get() - completion == 3
