"""The embedding router on phrasings that are not among its examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.router import EmbeddingRouter, IntentFileError, load_intents

UNSEEN = [
    ("I misplaced my card, what are the steps to stop it being used?", "question"),
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
]


def _normal(text: str) -> str:
    return " ".join(text.lower().strip(" ?!.").split())


def test_the_phrasings_below_are_really_unseen() -> None:
    examples = {_normal(e) for spec in load_intents() for e in spec.examples}
    assert not [text for text, _ in UNSEEN if _normal(text) in examples]


def test_unseen_phrasings_are_routed_right_or_left_to_the_model(router: EmbeddingRouter) -> None:
    """Confident and wrong is the failure that matters; not confident means one model call."""
    routes = [(router.classify(text), intent) for text, intent in UNSEEN]
    wrong = [
        (text, r.intent)
        for (r, intent), (text, _) in zip(routes, UNSEEN, strict=True)
        if r and r.intent != intent
    ]
    assert not wrong
    confident = [r for r, _ in routes if r is not None]
    assert len(confident) >= 0.75 * len(UNSEEN)  # most need no model call
    assert all(r.by == "embedding" and r.agent == "service" for r in confident)


def test_an_intent_naming_an_unknown_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  question:\n    agent: wizard\n    examples: [a, b, c, d, e]\n")
    with pytest.raises(IntentFileError, match="names agent 'wizard'"):
        load_intents(path)


def test_gibberish_is_left_to_the_model(router: EmbeddingRouter) -> None:
    assert router.classify("qwxz plorb zzzt") is None


def test_every_intent_has_examples_and_actions_name_an_executor() -> None:
    from tools.banking import EXECUTORS

    specs = load_intents()
    assert all(len(s.examples) >= 5 for s in specs)
    assert {s.action for s in specs if s.action} <= set(EXECUTORS)


@pytest.mark.parametrize(
    "text", ["个人贷款怎么申请？", "申请个人贷款需要什么条件？", "how do I apply for a loan?"]
)
def test_a_question_that_asks_for_no_person_is_not_a_hand_off(router: EmbeddingRouter, text: str) -> None:
    route = router.classify(text)
    assert route is None or route.intent == "question"


@pytest.mark.parametrize(
    "text",
    ["can I speak to a real person?", "I would like to talk to a person, please.", "我要人工客服", "转人工"],
)
def test_asking_for_a_person_is_still_a_hand_off(router: EmbeddingRouter, text: str) -> None:
    assert router.route_for("handoff", 0.9, "embedding", text).intent == "handoff"


def test_asking_how_an_action_works_is_a_question_whoever_routed_it(router: EmbeddingRouter) -> None:
    assert router.route_for("transfer", 0.0, "llm", "what's the best crypto to buy?").intent == "question"
    assert router.route_for("transfer", 0.0, "llm", "please send 50 EUR to Anna").intent == "transfer"
