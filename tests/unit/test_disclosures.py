"""Required disclosures are applied, not just checked (issue 8, item 4): an answer citing a document of
a product type gets the policy pack's disclosure sentences appended by the compliance step, in the
reply's language; the model is never asked to write them, and nothing streamed is changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agents.router import EmbeddingRouter
from finagent.settings import Settings
from knowledge.types import Hit
from tests.fakes import ScriptedChatModel
from tests.unit.conftest import login, say
from tools.text_check import required_disclosures

PASSAGES: dict[str, tuple[str, str, str]] = {
    # product type: (English question, English passage, Chinese passage)
    "fund": (
        "What should I know about the Lakeshore Balanced Fund?",
        "The Lakeshore Balanced Fund invests in bonds and shares and is rated R3.",
        "湖岸平衡基金投资于债券和股票，风险等级为R3。",
    ),
    "structured_note": (
        "How does the Lakeshore capital note work?",
        "The Lakeshore capital note pays a coupon linked to an equity index over five years.",
        "湖岸挂钩票据在五年内支付与股票指数挂钩的票息。",
    ),
    "deposit": (
        "What does the Lakeshore fixed deposit pay?",
        "The Lakeshore fixed deposit pays a fixed rate for a term of one to five years.",
        "湖岸定期存款在一至五年的期限内支付固定利率。",
    ),
    "loan": (
        "How can I apply for a Lakeshore personal loan?",
        "You can apply for a Lakeshore personal loan online in about ten minutes.",
        "您可以在网上申请湖岸个人贷款，大约需要十分钟。",
    ),
    "investment": (
        "What do the Lakeshore risk ratings mean?",
        "Lakeshore rates every investment product from R1 (lowest risk) to R5 (highest risk).",
        "湖岸将每款投资产品的风险等级从R1（最低）到R5（最高）进行评定。",
    ),
    "portfolio": (
        "What is in the Lakeshore model portfolio?",
        "The Lakeshore model portfolio spreads money across bonds, shares and cash.",
        "湖岸模型组合将资金分散投资于债券、股票和现金。",
    ),
}


QUESTIONS_ZH = {
    "fund": "湖岸平衡基金是什么样的产品？",
    "structured_note": "湖岸挂钩票据是怎么运作的？",
    "deposit": "湖岸定期存款的利息是多少？",
    "loan": "个人贷款的年利率是多少？",
    "portfolio": "湖岸模型组合里有哪些资产？",
    "investment": "湖岸的风险等级是什么意思？",
}


class FixedRetriever:
    """Always finds the one passage: these tests are about what happens after retrieval."""

    def __init__(self, hit: Hit) -> None:
        self.hit = hit

    def search(
        self, query: str, *, k: int = 5, audience: Any = "public", language: str | None = None
    ) -> list[Hit]:
        return [self.hit]


@pytest.fixture
def client_for(settings: Settings, router: EmbeddingRouter) -> Iterator[Any]:
    from server import create_app

    clients: list[TestClient] = []

    def make(product_type: str, text: str, reply: str, question: str) -> TestClient:
        hit = Hit(chunk_id="p1", doc_id=f"{product_type}-page", title="Product page", section="Overview",
                  text=text, score=1.0, relevance=0.9, product_type=product_type)  # fmt: skip
        route = router.classify(question)
        # When the router is unsure, the model picks the intent first: script that call too.
        model = ScriptedChatModel(reply) if route else ScriptedChatModel({"intent": "question"}, reply)
        client = TestClient(create_app(settings, llm=model, retriever=FixedRetriever(hit), router=router))
        client.__enter__()
        client.model = model  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)
        c.model.assert_done()  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("product_type", sorted(PASSAGES))
def test_an_answer_citing_a_product_gets_its_disclosures(
    client_for: Any, product_type: str, language: str
) -> None:
    question, english, chinese = PASSAGES[product_type]
    text = english if language == "en" else chinese
    asked = question if language == "en" else QUESTIONS_ZH[product_type]
    client = client_for(product_type, text, text, asked)  # the model repeats the passage
    events, msg = say(client, login(client, "alice"), asked)
    streamed = "".join(d["text"] for name, d in events if name == "token")
    expected = required_disclosures("", [product_type], language)
    assert expected, "the pack defines disclosures for this product type"
    assert streamed.strip() and msg["content"].startswith(streamed)  # appended, nothing withdrawn
    for sentence in expected:
        assert sentence in msg["content"], (sentence, msg["content"])
        assert sentence not in streamed  # added by the compliance step, not written by the model
    assert msg["content"].count(expected[0]) == 1


def test_an_answer_that_already_discloses_gets_no_second_copy(client_for: Any) -> None:
    question, english, _ = PASSAGES["deposit"]
    own = required_disclosures("", ["deposit"], "en")[0]
    client = client_for("deposit", f"{english} {own}", f"{english} {own}", question)
    _, msg = say(client, login(client, "alice"), question)
    assert msg["content"].count("deposit guarantee") == 1


def test_a_card_answer_needs_no_disclosure(client_for: Any) -> None:
    text = "You can block a lost card instantly in the chat assistant or the app."
    question = "How can I stop my lost card being used?"
    client = client_for("card", text, text, question)
    _, msg = say(client, login(client, "alice"), question)
    assert msg["content"].strip() == text
