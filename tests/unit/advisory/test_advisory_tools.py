"""The advisory agent's deterministic readers and checks, and its eval suite's headline figures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agents.advisory.grounding import grounded_sentences, number_forms, ungrounded
from agents.advisory.orders import split
from agents.advisory.words import (
    advisory_request,
    changed_question,
    order_amounts,
    products_named,
    vulnerability_signals,
    without_names,
)
from evals.base import SuiteContext
from finagent.settings import Settings
from policies.schema import SuitabilityRule
from tools.policy_engine import PolicyEngine, get_engine
from tools.profiling import parse_answer, questionnaire


@pytest.fixture(scope="module")
def packs() -> PolicyEngine:
    return get_engine(Settings().policy_dir)


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("invest 10,000 in the balanced portfolio", {"10000.00"}),
        ("invest 10.000 in the balanced portfolio", {"10000.00"}),
        ("buy 1,250.50 of the money market fund", {"1250.50"}),
        ("put 5k into the growth portfolio", {"5000.00"}),
        ("投资2万到平衡型组合", {"20000.00"}),
        ("I'm 82, invest 2000 in the money market fund", {"2000.00"}),
        ("invest 20 % of my savings for 5 years", set()),
    ],
)
def test_order_amounts(text: str, amounts: set[str]) -> None:
    assert {str(a) for a in order_amounts(text)} == amounts


def test_product_names_are_not_amounts(packs: PolicyEngine) -> None:
    shelf = packs.policies.of_kind(SuitabilityRule)[0].products
    (note,) = products_named("buy the autocall 2029 structured note for 5000", shelf)
    assert note.id == "AC2029"
    assert order_amounts(without_names("buy the autocall 2029 structured note for 5000", note)) == {
        Decimal(5000)
    }
    assert [p.id for p in products_named("buy the global equity index fund", shelf)] == ["GEIF"]
    assert [p.id for p in products_named("平衡型组合", shelf)] == ["MP-C3"]
    assert len(products_named("global equity or the bond fund?", shelf)) == 2


def test_answers_read_deterministically(packs: PolicyEngine) -> None:
    q = {x.id: x for x in questionnaire(packs).questions}
    assert parse_answer(q["horizon"], "about 5 years").id == "c"  # type: ignore[union-attr]
    assert parse_answer(q["horizon"], "10年").id == "d"  # type: ignore[union-attr]
    assert parse_answer(q["horizon"], "a few months").id == "a"  # type: ignore[union-attr]
    assert parse_answer(q["age"], "我82岁").id == "d"  # type: ignore[union-attr]
    assert parse_answer(q["drawdown"], "b").id == "b"  # type: ignore[union-attr]
    assert parse_answer(q["drawdown"], "4").id == "d"  # type: ignore[union-attr]
    assert parse_answer(q["drawdown"], "9") is None  # no 9th option
    assert parse_answer(q["goal"], "income and growth, balanced") is None  # two options: ask again
    assert parse_answer(q["loss_capacity"], "honestly I can't afford to lose it").id == "a"  # type: ignore[union-attr]


def test_requests_and_signals() -> None:
    assert advisory_request("my financial situation has changed") == "situation_changed"
    assert advisory_request("retake the risk questionnaire") == "retake"
    assert advisory_request("I understand the risk and still want to buy it") == "insist"
    assert advisory_request("what should I invest in?") == "recommend"
    assert changed_question("change my answer to question 3") == 3 and changed_question("修改第7题") == 7
    assert vulnerability_signals("I'm 82 and can't afford to lose this") == ["age", "cannot_afford_loss"]
    assert vulnerability_signals("I'm 45") == []


def test_numbers_check_drops_invented_figures() -> None:
    allowed = number_forms([6.2, 30.0, "1926-07 to 2018-11"])
    assert ungrounded("Volatility was 6.2 % and bonds are 30 %.", allowed) == []
    kept, dropped = grounded_sentences(
        "It suits you. It returned 12 % a year. Since 1926 it held up.", allowed
    )
    assert kept == "It suits you. Since 1926 it held up." and dropped == 1
    assert ungrounded("Your class C3 buys R3 products from MP-C3.", set()) == []


def test_split_adds_up_to_the_cent() -> None:
    legs = split(Decimal("1000.01"), {"A": 0.3333, "B": 0.3333, "C": 0.3334})
    assert sum(Decimal(leg["amount"]) for leg in legs) == Decimal("1000.01")


def test_eval_suite_meets_its_targets(tmp_path: Path) -> None:
    from evals.suites import advisory

    result = advisory.run(SuiteContext(out_dir=tmp_path, settings=Settings(), show_progress=False))
    assert result.metrics["cases"] >= 60
    assert result.extra == {"unsuitable_executions": 0.0, "class_accuracy": 1.0, "disclosure_coverage": 1.0,
                            "ungrounded_numbers": 0.0}  # fmt: skip
    assert not result.failed_gates()
    assert json.dumps(result.items)  # the dev items serialise for results.json
