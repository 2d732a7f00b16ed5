"""Required disclosures are supplied by the pack, not written by the model: `required_disclosures`
returns the sentences a reply lacks, and appending them satisfies the check in both languages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from policy_fixtures import PACKS

from policies.loader import PolicyLoadError, load_policy_set
from policies.schema import RequiredDisclosureRule
from tools.policy_engine import PolicyEngine
from tools.text_check import check_outgoing_text, normalise, required_disclosures

PRODUCT_TYPES = ["fund", "structured_note", "deposit", "loan", "portfolio", "investment"]
# What each product type's disclosure must say, per language.
MUST_SAY = {
    ("fund", "en"): ["Past performance is not a reliable guide", "get back less than you invest"],
    ("fund", "zh"): ["过往业绩不代表未来表现", "少于投入"],
    ("structured_note", "en"): ["complex product", "capital is at risk"],
    ("structured_note", "zh"): ["复杂产品", "本金可能损失"],
    ("deposit", "en"): ["deposit guarantee", "EUR 100,000 per customer"],
    ("deposit", "zh"): ["存款保障", "10万欧元"],
    ("loan", "en"): ["representative APR", "representative example", "credit and affordability assessment"],
    ("loan", "zh"): ["代表性年利率", "代表性示例", "信用评估"],
    ("portfolio", "en"): ["Past performance is not a reliable guide", "estimates, not a promise"],
    ("portfolio", "zh"): ["过往业绩不代表未来表现", "估算而非承诺"],
    ("investment", "en"): ["capital is at risk", "get back less than you invest"],
    ("investment", "zh"): ["投资有风险", "少于投入"],
}
REPLIES = {
    "en": [
        "",
        "The Balanced Income Fund yielded 4% last year.",
        "The Autocall 2029 pays a 7% coupon if the barrier holds",
        "Our 12-month fixed deposit pays 2.9% a year and you can open it from EUR 1,000.",
        "Loans from 5.9% APR, paid out the next working day.",
        "Your portfolio: 40% bonds, 60% equities; expected return 4.1%.",
    ],
    "zh": [
        "",
        "均衡收益基金去年收益4%。",
        "Autocall 2029票据每年可能支付7%的票息",
        "12个月定期存款年利率2.9%，1,000欧元起存。",
        "个人贷款年利率5.9%起，最快次日放款。",
        "模型组合：40%债券、60%股票。",
    ],
}


def _append(reply: str, sentences: list[str], language: str) -> str:
    return (
        reply + ("" if language == "zh" else " ") + ("" if language == "zh" else " ").join(sentences)
    ).strip()


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("product_type", PRODUCT_TYPES)
def test_each_product_type_gets_its_disclosure_in_the_reply_language(
    engine: PolicyEngine, product_type: str, language: str
) -> None:
    sentences = required_disclosures("The product is available.", [product_type], language, engine=engine)
    joined = " ".join(sentences)
    for phrase in MUST_SAY[(product_type, language)]:
        assert phrase in joined
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in joined)
    assert chinese is (language == "zh")


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("product_type", PRODUCT_TYPES)
def test_appending_the_disclosures_satisfies_the_check(
    engine: PolicyEngine, product_type: str, language: str
) -> None:
    for reply in REPLIES["en"] + REPLIES["zh"]:
        sentences = required_disclosures(reply, [product_type], language, engine=engine)
        assert sentences, "a reply that says none of it needs the disclosure"
        fixed = _append(reply, sentences, language)
        findings = check_outgoing_text(fixed, product_types=[product_type], engine=engine).findings
        assert [f for f in findings if f.kind == "missing_disclosure"] == []
        assert required_disclosures(fixed, [product_type], language, engine=engine) == []


def test_every_disclosure_text_makes_its_own_disclosure_and_passes_every_rule(engine: PolicyEngine) -> None:
    rules = engine.policies.of_kind(RequiredDisclosureRule)
    assert {r.product_type for r in rules} == set(PRODUCT_TYPES)
    for rule in rules:
        for item in rule.disclosures:
            for sentence in (item.text.en, item.text.zh):
                assert any(re.search(p, normalise(sentence)) for p in item.patterns), (
                    rule.id,
                    item.name,
                    sentence,
                )
                assert check_outgoing_text(sentence, engine=engine).findings == [], sentence


def test_a_loan_disclosure_invents_no_rate(engine: PolicyEngine) -> None:
    for language in ("en", "zh"):
        for sentence in required_disclosures("", ["loan"], language, engine=engine):
            assert not any(ch.isdigit() for ch in sentence)


def test_a_sentence_two_product_types_share_is_given_once_in_pack_order(engine: PolicyEngine) -> None:
    both = required_disclosures("", ["portfolio", "fund"], "en", engine=engine)
    assert both == required_disclosures("", ["fund", "portfolio"], "en", engine=engine)
    assert sum("Past performance" in s for s in both) == 1
    assert both == [
        "Past performance is not a reliable guide to future returns.",
        "Your capital is at risk: the value of investments can fall as well as rise and you may get back "
        "less than you invest.",
        "These figures are estimates, not a promise: the value of the portfolio can fall.",
    ]


def test_what_the_reply_already_says_is_not_repeated(engine: PolicyEngine) -> None:
    reply = "The fund rose 12% last year. Past results are no guarantee of future performance."
    assert required_disclosures(reply, ["fund"], "en", engine=engine) == [
        "Your capital is at risk: the value of investments can fall as well as rise and you may get back "
        "less than you invest."
    ]
    assert required_disclosures(reply, ["card", "current_account"], "en", engine=engine) == []
    assert required_disclosures("存款受存款保险保障。", ["deposit"], "zh", engine=engine) == []


def test_a_disclosure_without_text_is_refused(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    pack = packs / "outgoing_text.yaml"
    text = pack.read_text()
    start = text.index("        text:", text.index("name: deposit_guarantee"))
    end = text.index("\n", text.index("          zh:", start)) + 1
    pack.write_text(text[:start] + text[end:])
    with pytest.raises(PolicyLoadError, match=r"TXT-DSC-DEP field .*text"):
        load_policy_set(packs)
