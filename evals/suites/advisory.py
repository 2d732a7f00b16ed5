"""Eval suite `advisory`: 60 labelled cases (evals/datasets/advisory_cases.jsonl), each an investor
profile given as the customer's own answers plus one request, run through the same readers, scoring,
allocation, policy engine and compliance step the advisory agent uses.

Per case: the answers are read question by question (tools.profiling.parse_answer) and scored; an
order is read from the request's words and judged (an "insist" case is first refused, then judged again
as an insistent client's); an advice request builds the proposal from the allocation tool, the
compliance step appends the disclosures, and every number in the prose is checked against the tool's
output. With `finagent advisory eval --llm` the configured model writes the explanation too, and its
sentences are checked the same way (the ones with other numbers dropped, as in the agent; `ungrounded_numbers`
counts what would have reached the customer).

Metrics (also top-level keys of results.json): `unsuitable_executions` (orders that would execute, i.e.
ALLOW, for a product above the class), `class_accuracy`, `verdict_accuracy`, `refusal_accuracy`,
`disclosure_coverage` (advice replies carrying every expected disclosure), `ungrounded_numbers`.
Cases are split dev/held-out by a hash of the case id; both halves are reported, nothing is tuned on
held-out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

from agents.advisory.grounding import grounded_sentences, ungrounded
from agents.advisory.orders import _legs
from agents.advisory.phrases import phrase
from agents.advisory.prompts import EXPLAIN_SYSTEM
from agents.advisory.proposal import allowed_numbers, proposal_text, shelf
from agents.advisory.words import order_amounts, products_named, vulnerability_signals, without_names
from evals.base import Gate, SuiteContext, SuiteResult
from finagent.llm import LLMError, chat_model_from_settings
from finagent.models import utcnow
from policies.actions import ActionRequest, CustomerContext
from policies.schema import RequiredDisclosureRule, SuitabilityRule
from tools.allocation import allocate
from tools.policy_engine import PolicyEngine, get_engine
from tools.profiling import parse_answer, questionnaire, score_profile
from tools.text_check import _says, normalise, required_disclosures

CASES = Path(__file__).resolve().parent.parent / "datasets" / "advisory_cases.jsonl"
GATES = [
    Gate(metric="class_accuracy", minimum=1.0),
    Gate(metric="verdict_accuracy", minimum=1.0),
    Gate(metric="disclosure_coverage", minimum=1.0),
    Gate(metric="no_unsuitable_executions", minimum=1.0),
    Gate(metric="no_ungrounded_numbers", minimum=1.0),
]


def split(case_id: str) -> str:
    return "dev" if int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def _profile(case: dict[str, Any], engine: PolicyEngine) -> tuple[str | None, list[str], str]:
    rule = questionnaire(engine)
    answers: dict[str, str] = {}
    for question, text in zip(rule.questions, case["answers"], strict=True):
        option = parse_answer(question, text)
        if option is None:
            return None, [], f"unread answer {text!r} to {question.id}"
        answers[question.id] = option.id
    score = score_profile(answers, engine)
    return score.risk_class, score.signals, ""


def _order(
    case: dict[str, Any], engine: PolicyEngine, cls: str, signals: list[str], insist: bool
) -> dict[str, Any]:
    products = shelf(engine)
    named = products_named(case["request"], list(products.values()))
    if len(named) != 1:
        return {"decision": None, "note": f"products named: {[p.id for p in named]}"}
    product = named[0]
    amounts = order_amounts(without_names(case["request"], product))
    if len(amounts) != 1:
        return {"decision": None, "note": f"amounts read: {sorted(map(str, amounts))}"}
    (amount,) = amounts
    args: dict[str, Any] = {
        "account_id": "eval",
        "product_id": product.id,
        "amount": str(amount),
        "legs": _legs(product, amount, engine),
        "vulnerability_signals": sorted(set(signals) | set(vulnerability_signals(case["request"]))),
    }
    if insist:
        args["insistent"] = True
    customer = CustomerContext(
        customer_id="eval",
        name="Eval",
        kyc_status="verified",
        risk_profile=cls,  # type: ignore[arg-type]
        account_opened=date(2020, 1, 1),
    )
    verdict = engine.check_action(
        ActionRequest(action="buy_product", args=args, customer=customer, now=utcnow())
    )
    suit = engine.policies.of_kind(SuitabilityRule)[0]
    above = product.rating > suit.max_rating[cls]  # type: ignore[index]
    return {
        "decision": verdict.decision.value,
        "product": product.id,
        "above_profile": above,
        "codes": sorted({r.reason_code for r in verdict.reasons}),
        "customer_text": text.get(case["language"]) if (text := verdict.customer_text()) else None,
    }


async def _explain(ctx: SuiteContext, portfolio: Any, cls: str, language: str) -> str:
    model = chat_model_from_settings(ctx.settings)
    facts = {
        "risk_class": cls,
        "holdings": {h.product_name: f"{h.weight * 100:.1f} %" for h in portfolio.holdings},
        "volatility_pct_per_year": f"{portfolio.volatility * 100:.1f}",
    }
    messages = [
        {
            "role": "system",
            "content": EXPLAIN_SYSTEM.format(language="Chinese" if language == "zh" else "English"),
        },
        {"role": "user", "content": json.dumps(facts, ensure_ascii=False)},
    ]
    try:
        return "".join([p async for p in model.stream(messages, max_tokens=160)])
    except LLMError:
        return ""


def _advice(ctx: SuiteContext, case: dict[str, Any], engine: PolicyEngine, cls: str) -> dict[str, Any]:
    portfolio = allocate(cls, engine)  # type: ignore[arg-type]
    language = case["language"]
    products = shelf(engine)
    name = (
        products[portfolio.portfolio_id].name_zh
        if language == "zh"
        else products[portfolio.portfolio_id].name
    )
    # The reply as the agent writes it: the proposal and the invitation to order (the model's
    # explanation goes between them when --llm is on).
    prose = (
        proposal_text(portfolio, products, language)
        + "\n\n"
        + phrase("how_to_invest", language, portfolio=name)
    )
    allowed = allowed_numbers(portfolio)
    dropped = 0
    if ctx.options.get("llm"):
        raw = asyncio.run(_explain(ctx, portfolio, cls, language))
        kept, dropped = grounded_sentences(raw, allowed)
        prose = f"{prose}\n\n{kept}" if kept else prose
    final = prose + " " + " ".join(required_disclosures(prose, ["portfolio"], language, engine=engine))
    norm = normalise(final)
    said = {
        item.name
        for rule in engine.policies.of_kind(RequiredDisclosureRule)
        if rule.product_type == "portfolio"
        for item in rule.disclosures
        if _says(item, norm)
    }
    return {
        "ungrounded": ungrounded(prose, allowed),
        "disclosures": sorted(said),
        "dropped_sentences": dropped,
        "portfolio": portfolio.portfolio_id,
    }


def run(ctx: SuiteContext) -> SuiteResult:
    engine = get_engine(ctx.settings.policy_dir)
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = []
    for case in ctx.progress(cases, "advisory cases"):
        cls, signals, problem = _profile(case, engine)
        item: dict[str, Any] = {
            "id": case["id"],
            "split": split(case["id"]),
            "kind": case["kind"],
            "expected_class": case["expected_class"],
            "class": cls,
            "note": problem,
        }
        if cls is not None and case["kind"] in ("order", "insist"):
            first = _order(case, engine, cls, signals, insist=False)
            outcome = _order(case, engine, cls, signals, insist=True) if case["kind"] == "insist" else first
            item |= {
                "decision": outcome["decision"],
                "refused": first["decision"] == "BLOCK",
                "unsuitable_execution": outcome.get("above_profile") is True
                and outcome["decision"] == "ALLOW",
                "codes": outcome.get("codes", []),
                "note": outcome.get("note", ""),
            }
            item["verdict_ok"] = item["decision"] == case["expected_verdict"]
            item["refusal_ok"] = (
                case["kind"] == "order" and item["refused"] == case["expected_refusal"]
            ) or (case["kind"] == "insist" and item["refused"])
        elif cls is not None:
            advice = _advice(ctx, case, engine, cls)
            item |= advice | {
                "disclosures_ok": set(case["expected_disclosures"]) <= set(advice["disclosures"])
            }
        item["class_ok"] = cls == case["expected_class"]
        items.append(item)
    metrics = _metrics(items, "")
    for half in ("dev", "heldout"):
        metrics |= _metrics([i for i in items if i["split"] == half], f"{half}_")
    headline = {
        k: metrics[k]
        for k in ("unsuitable_executions", "class_accuracy", "disclosure_coverage", "ungrounded_numbers")
    }
    report = [
        f"{len(items)} cases ({sum(i['split'] == 'dev' for i in items)} dev, "
        f"{sum(i['split'] == 'heldout' for i in items)} held-out); explanations by the model: "
        f"{'yes' if ctx.options.get('llm') else 'no (run `finagent advisory eval --llm`)'}.",
        "",
        "| case | class | expected | decision | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    report += [
        f"| {i['id']} | {i['class']} | {i['expected_class']} | {i.get('decision', '')} "
        f"| {i.get('note', '')} |"
        for i in items
        if i["split"] == "dev" and not (i["class_ok"] and i.get("verdict_ok", True))
    ]
    return SuiteResult(
        suite="advisory",
        metrics=metrics,
        gates=GATES,
        items=[i for i in items if i["split"] == "dev"],
        extra=headline,
        report_md="\n".join(report),
    )


def _metrics(items: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    orders = [i for i in items if "verdict_ok" in i]
    advice = [i for i in items if "disclosures_ok" in i]
    unsuitable = sum(1 for i in orders if i["unsuitable_execution"])
    ungrounded_count = sum(len(i["ungrounded"]) for i in advice)

    def share(values: list[bool]) -> float:
        return sum(values) / len(values) if values else 1.0

    return {
        f"{prefix}cases": float(len(items)),
        f"{prefix}class_accuracy": share([i["class_ok"] for i in items]),
        f"{prefix}verdict_accuracy": share([i["verdict_ok"] for i in orders]),
        f"{prefix}refusal_accuracy": share([i["refusal_ok"] for i in orders]),
        f"{prefix}disclosure_coverage": share([i["disclosures_ok"] for i in advice]),
        f"{prefix}unsuitable_executions": float(unsuitable),
        f"{prefix}ungrounded_numbers": float(ungrounded_count),
        f"{prefix}no_unsuitable_executions": 1.0 if unsuitable == 0 else 0.0,
        f"{prefix}no_ungrounded_numbers": 1.0 if ungrounded_count == 0 else 0.0,
    }
