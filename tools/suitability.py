"""Suitability (customer C1-C5 against product R1-R5) and the risk-profiling questionnaire."""

from __future__ import annotations

from pydantic import BaseModel

from policies.schema import Product, QuestionnaireRule, RiskClass, SuitabilityRule
from policies.verdict import Decision, Verdict
from tools.policy_engine import PolicyEngine
from tools.profiling import score_profile
from tools.screening import reason


class SuitabilityResult(BaseModel):
    verdict: Verdict
    product: Product | None
    max_rating: str | None
    gap: int  # rating steps above what the profile allows; 0 when suitable


def find_product(rule: SuitabilityRule, product: str) -> Product | None:
    wanted = product.casefold()
    return next((p for p in rule.products if wanted in {p.id.casefold(), p.name.casefold()}), None)


def suitability_gap(profile: RiskClass, rating: str, rule: SuitabilityRule) -> int:
    return max(0, int(rating[1]) - int(rule.max_rating[profile][1]))


def check_suitability(profile: RiskClass | None, product: str, engine: PolicyEngine) -> SuitabilityResult:
    policies = engine.policies
    rule = policies.of_kind(SuitabilityRule)[0]
    found = find_product(rule, product)
    if found is None:
        raise ValueError(f"unknown product {product!r}")
    if profile is None:
        q = policies.of_kind(QuestionnaireRule)[0]
        item = reason(q, policies.pack_of(q.id), {"product_id": found.id})
        return SuitabilityResult(
            verdict=Verdict(decision=item.decision, reasons=[item], policy_version=engine.version),
            product=found, max_rating=None, gap=0,
        )  # fmt: skip
    gap = suitability_gap(profile, found.rating, rule)
    reasons = []
    if gap:
        evidence = {"risk_profile": profile, "max_rating": rule.max_rating[profile], "rating": found.rating}
        reasons.append(reason(rule, policies.pack_of(rule.id), evidence))
    decision = reasons[0].decision if reasons else Decision.ALLOW
    return SuitabilityResult(
        verdict=Verdict(decision=decision, reasons=reasons, policy_version=engine.version),
        product=found, max_rating=rule.max_rating[profile], gap=gap,
    )  # fmt: skip


class QuestionnaireResult(BaseModel):
    risk_profile: RiskClass
    points: int
    max_points: int
    policy_version: str


def score_questionnaire(answers: dict[str, str], engine: PolicyEngine) -> QuestionnaireResult:
    """Answers map question id -> option id; every question must be answered exactly once. The class
    includes the knock-outs (tools.profiling.score_profile has the drivers)."""
    score = score_profile(answers, engine)
    return QuestionnaireResult(risk_profile=score.risk_class, points=score.points,
                               max_points=score.max_points, policy_version=engine.version)  # fmt: skip
