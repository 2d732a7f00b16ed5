from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from policies.verdict import Decision
from tools.allocation import allocate
from tools.credit import CreditApplication, assess_credit
from tools.policy_engine import PolicyEngine
from tools.suitability import check_suitability, score_questionnaire

DATA = Path(__file__).resolve().parents[3] / "data" / "germancredit" / "germancredit.csv"


def applicants() -> list[dict[str, str | float]]:
    with DATA.open(newline="") as fh:
        return [{k: v for k, v in r.items() if k != "creditability"} for r in csv.DictReader(fh)]


def application(
    attributes: dict[str, str | float], income: str = "4000", debts: str = "200"
) -> CreditApplication:
    return CreditApplication(
        attributes=attributes, net_monthly_income=Decimal(income), monthly_debt_payments=Decimal(debts),
        loan_amount=Decimal("10000"), term_months=48,
    )  # fmt: skip


def by_score(engine: PolicyEngine) -> list[tuple[float, dict[str, str | float]]]:
    return sorted(
        ((assess_credit(application(a), engine).score, a) for a in applicants()[:200]), key=lambda x: x[0]
    )


def test_strong_applicant_is_prequalified(engine: PolicyEngine) -> None:
    result = assess_credit(application(by_score(engine)[-1][1]), engine)
    assert result.verdict.decision == Decision.ALLOW
    assert "CRD-SCR-01" not in {r.rule_id for r in result.verdict.reasons} and not result.reason_codes


def test_weak_applicant_is_declined_with_reason_codes(engine: PolicyEngine) -> None:
    result = assess_credit(application(by_score(engine)[0][1]), engine)
    assert result.verdict.decision == Decision.BLOCK
    assert "CRD-SCR-01" in {r.rule_id for r in result.verdict.reasons}
    assert 1 <= len(result.reason_codes) <= 3
    # Reason codes name the attributes that cost the most points.
    worst = max(result.points, key=lambda p: p.shortfall)
    assert result.reason_codes[0].startswith(worst.attribute.upper())


def test_points_add_up_to_the_score(engine: PolicyEngine) -> None:
    result = assess_credit(application(applicants()[0]), engine)
    assert result.score == pytest.approx(sum(p.points for p in result.points), abs=0.2)
    assert 0 < result.probability_of_default < 1


def test_affordability_fires_above_40_percent(engine: PolicyEngine) -> None:
    strong = by_score(engine)[-1][1]
    high = assess_credit(application(strong, income="1000", debts="300"), engine)
    low = assess_credit(application(strong, income="5000", debts="100"), engine)
    assert "CRD-AFF-01" in {r.rule_id for r in high.verdict.reasons} and high.debt_to_income >= 0.4
    assert "CRD-AFF-01" not in {r.rule_id for r in low.verdict.reasons}


def test_missing_attributes_are_refused(engine: PolicyEngine) -> None:
    with pytest.raises(ValueError, match="missing scorecard attributes"):
        assess_credit(application({"age_in_years": "30"}), engine)


@pytest.mark.parametrize("profile", ["C1", "C2", "C3", "C4", "C5"])
def test_allocation_respects_budget_and_suitability(engine: PolicyEngine, profile: str) -> None:
    portfolio = allocate(profile, engine)  # type: ignore[arg-type]
    budget = {"C1": 0.01, "C2": 0.04, "C3": 0.07, "C4": 0.12, "C5": 0.16}[profile]
    assert sum(h.weight for h in portfolio.holdings) == pytest.approx(1.0, abs=1e-3)
    assert portfolio.volatility <= budget + 1e-3
    for holding in portfolio.holdings:
        assert check_suitability(profile, holding.product_id, engine).verdict.decision == Decision.ALLOW  # type: ignore[arg-type]
    assert any("not a promise" in d for d in portfolio.disclosures)


def test_riskier_profiles_get_higher_expected_return(engine: PolicyEngine) -> None:
    returns = [allocate(p, engine).expected_return for p in ("C1", "C2", "C3", "C4", "C5")]
    assert returns == sorted(returns) and returns[0] < returns[-1]


def test_questionnaire_bands(engine: PolicyEngine) -> None:
    ids = ["horizon", "drawdown", "experience", "share_of_wealth", "income_stability", "goal"]
    assert score_questionnaire(dict.fromkeys(ids, "a"), engine).risk_profile == "C1"
    assert score_questionnaire(dict.fromkeys(ids, "d"), engine).risk_profile == "C5"
    assert (
        score_questionnaire(dict.fromkeys(ids, "b") | {"horizon": "d", "goal": "a"}, engine).risk_profile
        == "C2"
    )


def test_questionnaire_refuses_incomplete_answers(engine: PolicyEngine) -> None:
    with pytest.raises(ValueError, match="missing"):
        score_questionnaire({"horizon": "a"}, engine)


def test_suitability_gap(engine: PolicyEngine) -> None:
    result = check_suitability("C2", "Emerging Markets Equity Fund", engine)
    assert result.verdict.decision == Decision.BLOCK and result.gap == 3
