"""The OpenAI-compatible API that every agent relies on, exercised on the real server."""

from __future__ import annotations

import json
from typing import Literal

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel, Field

from finagent.embedded_llm import Endpoint


@pytest.fixture(scope="module")
def client(llm_endpoint: Endpoint) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=llm_endpoint.base_url, api_key=llm_endpoint.api_key, timeout=120, max_retries=0
    )


def _ask(client: openai.OpenAI, model: str, prompt: str) -> str:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=60
    )
    return reply.choices[0].message.content or ""


def test_answers_in_english(client: openai.OpenAI, llm_endpoint: Endpoint) -> None:
    answer = _ask(
        client, llm_endpoint.model, "What is the capital city of France? Answer with the city name."
    )
    assert "Paris" in answer


def test_answers_in_chinese(client: openai.OpenAI, llm_endpoint: Endpoint) -> None:
    answer = _ask(client, llm_endpoint.model, "法国的首都是哪座城市？请用中文回答。")
    assert "巴黎" in answer


def test_streams_the_reply_in_several_chunks(client: openai.OpenAI, llm_endpoint: Endpoint) -> None:
    stream = client.chat.completions.create(
        model=llm_endpoint.model,
        messages=[{"role": "user", "content": "Name three things a bank account statement shows."}],
        temperature=0,
        max_tokens=60,
        stream=True,
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1
    assert len("".join(pieces).split()) >= 5


class TransferRequest(BaseModel):
    intent: Literal["transfer", "block_card", "balance_inquiry", "other"]
    amount: float = Field(ge=0)
    currency: Literal["EUR", "USD", "GBP", "CNY"]
    payee: str


def test_json_schema_output_parses_and_extracts_the_slots(
    client: openai.OpenAI, llm_endpoint: Endpoint
) -> None:
    reply = client.chat.completions.create(
        model=llm_endpoint.model,
        messages=[
            {"role": "system", "content": "Extract the customer's request as JSON."},
            {"role": "user", "content": "Please send 250 euros to Alice Martin today."},
        ],
        temperature=0,
        max_tokens=120,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "TransferRequest", "schema": TransferRequest.model_json_schema()},
        },
    )
    parsed = TransferRequest.model_validate_json(reply.choices[0].message.content or "")
    assert parsed.intent == "transfer"
    assert parsed.amount == 250
    assert parsed.currency == "EUR"
    assert "Alice" in parsed.payee


BLOCK_CARD: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "block_card",
        "description": "Block the customer's payment card.",
        "parameters": {
            "type": "object",
            "properties": {
                "card_last4": {"type": "string", "description": "last four digits of the card"},
                "reason": {"type": "string", "enum": ["lost", "stolen", "damaged"]},
            },
            "required": ["card_last4", "reason"],
        },
    },
}


def test_named_tool_call_returns_the_arguments(client: openai.OpenAI, llm_endpoint: Endpoint) -> None:
    reply = client.chat.completions.create(
        model=llm_endpoint.model,
        messages=[
            {"role": "user", "content": "My card ending in 4821 was stolen last night, please block it."}
        ],
        temperature=0,
        max_tokens=120,
        tools=[BLOCK_CARD],
        tool_choice={"type": "function", "function": {"name": "block_card"}},
    )
    calls = reply.choices[0].message.tool_calls
    assert calls, reply.choices[0].message
    call = calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "block_card"
    assert json.loads(call.function.arguments) == {"card_last4": "4821", "reason": "stolen"}


def test_requests_without_the_api_key_are_refused(llm_endpoint: Endpoint) -> None:
    body = {"model": llm_endpoint.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    url = f"{llm_endpoint.base_url}/chat/completions"
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.post(url, json=body, headers=wrong, timeout=30).status_code == 401
    assert httpx.get(f"{llm_endpoint.base_url}/models", timeout=30).status_code == 401
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=llm_endpoint.base_url, api_key="not-the-key", max_retries=0).models.list()
