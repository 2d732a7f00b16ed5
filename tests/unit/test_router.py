"""The embedding router on phrasings that are not among its examples."""

from __future__ import annotations

import pytest

from agents.router import EmbeddingRouter, load_intents


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("How do I block a lost card?", "question"),
        ("what's the fee to send money to the US", "question"),
        ("how long until my new card arrives", "question"),
        ("which funds can a cautious investor buy", "question"),
        ("block my card right now", "block_card"),
        ("my purse was stolen with my visa in it, freeze it", "block_card"),
        ("send 300 euro to Peter Braun", "transfer"),
        ("please pay 2,500 EUR to Müller Bau GmbH", "transfer"),
        ("let me talk to someone real", "handoff"),
        ("good evening", "greeting"),
        ("can I buy the emerging markets fund", "question"),
        ("我的信用卡丢了，请马上冻结", "block_card"),
    ],
)
def test_confident_routes(router: EmbeddingRouter, text: str, intent: str) -> None:
    route = router.classify(text)
    assert route is not None, f"not confident for {text!r}"
    assert route.intent == intent
    assert route.by == "embedding"


def test_gibberish_is_left_to_the_model(router: EmbeddingRouter) -> None:
    assert router.classify("qwxz plorb zzzt") is None


def test_every_intent_has_examples_and_actions_name_an_executor() -> None:
    from tools.banking import EXECUTORS

    specs = load_intents()
    assert all(len(s.examples) >= 5 for s in specs)
    assert {s.action for s in specs if s.action} <= set(EXECUTORS)


def test_asking_how_an_action_works_is_a_question_whoever_routed_it(router: EmbeddingRouter) -> None:
    assert router.route_for("transfer", 0.0, "llm", "what's the best crypto to buy?").intent == "question"
    assert router.route_for("transfer", 0.0, "llm", "please send 50 EUR to Anna").intent == "transfer"
