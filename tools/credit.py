"""Credit pre-assessment: an explainable scorecard plus an affordability (debt-to-income) check.

Points per attribute come from the versioned model file that scripts/train_scorecard.py writes;
cut-offs come from the credit policy pack. A decline names the attributes that cost the most
points compared with the best answer for each, as adverse-action reason codes.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from policies.schema import AffordabilityRule, ScorecardCutoffRule
from policies.verdict import Decision, Reason, Verdict
from tools.policy_engine import PolicyEngine
from tools.screening import reason

MODELS_DIR = Path(__file__).resolve().parent / "models"


class Scorecard(BaseModel):
    model_version: str
    cv_auc: float
    factor: float
    offset: float
    features: dict[str, dict[str, Any]]

    def bin_label(self, feature: str, value: str | float) -> str:
        spec = self.features[feature]
        if spec["type"] == "numeric":
            return f"bin{bisect_right(spec['edges'], float(value))}"
        return str(value) if str(value) in spec["points"] else "__other__"


@lru_cache(maxsize=4)
def load_scorecard(model_version: str, models_dir: Path = MODELS_DIR) -> Scorecard:
    return Scorecard.model_validate(json.loads((models_dir / f"{model_version}.json").read_text()))


class AttributePoints(BaseModel):
    attribute: str
    value: str
    points: float
    shortfall: float = Field(description="points below the best bin of this attribute")


class CreditApplication(BaseModel):
    """German Credit attributes (as in the training data), plus the figures affordability needs."""

    attributes: dict[str, str | float]
    net_monthly_income: Decimal = Field(gt=0)
    monthly_debt_payments: Decimal = Field(ge=0)
    loan_amount: Decimal = Field(gt=0)
    term_months: int = Field(ge=1, le=360)
    annual_rate: Decimal = Field(default=Decimal("0.074"), ge=0, lt=1)


class CreditAssessment(BaseModel):
    verdict: Verdict
    score: float
    probability_of_default: float
    points: list[AttributePoints]
    reason_codes: list[str]
    debt_to_income: float
    monthly_installment: Decimal
    model_version: str


def monthly_installment(amount: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    r = float(annual_rate) / 12
    value = float(amount) / months if r == 0 else float(amount) * r / (1 - (1 + r) ** -months)
    return Decimal(str(round(value, 2)))


def score_attributes(card: Scorecard, attributes: dict[str, str | float]) -> list[AttributePoints]:
    missing = sorted(set(card.features) - set(attributes))
    if missing:
        raise ValueError(f"missing scorecard attributes: {missing}")
    out = []
    for name, spec in card.features.items():
        label = card.bin_label(name, attributes[name])
        pts = float(spec["points"][label])
        best = max(float(v) for v in spec["points"].values())
        out.append(
            AttributePoints(
                attribute=name, value=str(attributes[name]), points=pts, shortfall=round(best - pts, 1)
            )
        )
    return out


def credit_score(card: Scorecard, attributes: dict[str, str | float]) -> tuple[float, list[AttributePoints]]:
    """The score (points summed, one decimal; higher is better) and the points behind it."""
    points = score_attributes(card, attributes)
    return round(sum(p.points for p in points), 1), points


def assess_credit(application: CreditApplication, engine: PolicyEngine) -> CreditAssessment:
    policies = engine.policies
    cutoff = policies.of_kind(ScorecardCutoffRule)[0]
    card = load_scorecard(cutoff.model_version)
    score, points = credit_score(card, application.attributes)
    pd = 1 / (1 + math.exp((score - card.offset) / card.factor))
    worst = sorted(points, key=lambda p: p.shortfall, reverse=True)[: cutoff.reason_codes_shown]
    codes = [f"{p.attribute.upper()}={p.value}" for p in worst if p.shortfall > 0]
    installment = monthly_installment(
        application.loan_amount, application.annual_rate, application.term_months
    )
    dti = float((application.monthly_debt_payments + installment) / application.net_monthly_income)
    reasons: list[Reason] = []
    evidence = {
        "score": score,
        "min_score": cutoff.min_score,
        "reason_codes": codes,
        "model_version": card.model_version,
    }
    if score < cutoff.min_score:
        reasons.append(reason(cutoff, policies.pack_of(cutoff.id), evidence))
    elif score < cutoff.review_below:
        item = reason(cutoff, policies.pack_of(cutoff.id), evidence | {"review_below": cutoff.review_below})
        reasons.append(
            item.model_copy(
                update={"decision": Decision.REQUIRE_APPROVAL, "reason_code": "SCORE_IN_REVIEW_BAND"}
            )
        )
    for rule in policies.of_kind(AffordabilityRule):
        if dti >= rule.max_debt_to_income:
            dti_evidence = {
                "debt_to_income": round(dti, 3),
                "max": rule.max_debt_to_income,
                "installment": str(installment),
            }
            reasons.append(reason(rule, policies.pack_of(rule.id), dti_evidence))
    verdict = Verdict.combine(
        [
            Verdict(decision=r.decision, reasons=[r], policy_version=engine.version, approvers_required=1)
            for r in reasons
        ],
        engine.version,
    )
    if verdict.decision != Decision.REQUIRE_APPROVAL:
        verdict = verdict.model_copy(update={"approvers_required": 0})
    return CreditAssessment(
        verdict=verdict,
        score=score,
        probability_of_default=round(pd, 4),
        points=points,
        reason_codes=codes if verdict.decision != Decision.ALLOW else [],
        debt_to_income=round(dti, 4),
        monthly_installment=installment,
        model_version=card.model_version,
    )
