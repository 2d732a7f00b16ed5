"""Eval-suite tests: the suites' own code on a fast subset, against a fake model that answers each case
the way its label says a good model would (or the way a bad one would, to show the scores can fail)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.router import EmbeddingRouter, IntentChoice
from agents.service.schemas import BlockCardSlots, TransferSlots
from agents.service.words import ibans_in
from finagent.llm import LLMMeter
from finagent.settings import Settings
from tests.fakes import FunctionChatModel, KeywordRetriever
from tests.unit.conftest import PASSAGES

Responder = Callable[[str, list[dict[str, str]], Any], Any]


def labelled_responder(cases: list[dict[str, Any]], answer: str = "Here is what I found.") -> Responder:
    """Answers as a model that reads each request right: the slots come from the case's label."""
    by_message = {c["message"]: c for c in cases}

    def respond(kind: str, messages: list[dict[str, str]], schema: Any) -> Any:
        text = messages[-1]["content"]
        case = by_message.get(text, {})
        if schema is IntentChoice:
            return {"intent": case.get("action") or "question"}
        if schema is TransferSlots:
            args = case.get("args") or {}
            iban = next(iter(ibans_in(text)), None)
            amount = float(args.get("amount") or 0) or 1.0
            return {"amount": amount, "payee_name": args.get("payee_name", "someone"), "payee_iban": iban}
        if schema is BlockCardSlots:
            kind_word = "credit" if re.search(r"credit|信用卡", text) else "debit"
            return {"card_type": kind_word, "reason": "lost"}
        if kind == "stream":
            return answer
        raise AssertionError(f"unexpected call {kind} {schema}")

    return respond


def model_factory(respond: Responder) -> Callable[[LLMMeter], FunctionChatModel]:
    return lambda meter: FunctionChatModel(respond, meter)


def read_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def eval_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "app-data", environment="test", chroma_url=None, kb_min_relevance=0.3)


@pytest.fixture
def app_options(router: EmbeddingRouter) -> dict[str, Any]:
    return {"retriever": KeywordRetriever(PASSAGES), "router": router}
