from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from policies.schema import AllocationRule, QuestionnaireRule
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
def test_allocation_respects_the_class_limits(engine: PolicyEngine, profile: str) -> None:
    portfolio = allocate(profile, engine)  # type: ignore[arg-type]
    rule = engine.policies.of_kind(AllocationRule)[0]
    limits = rule.class_limits[profile]  # type: ignore[index]
    assert sum(h.weight for h in portfolio.holdings) == pytest.approx(1.0, abs=1e-4)
    # The backtest's own figures, recomputed here, are within the class's budgets.
    assert portfolio.volatility <= limits.max_volatility + 1e-3
    assert portfolio.cvar <= limits.max_cvar + 1e-3
    assert portfolio.equity_share <= limits.max_equity + 1e-3
    for holding in portfolio.holdings:
        assert check_suitability(profile, holding.product_id, engine).verdict.decision == Decision.ALLOW  # type: ignore[arg-type]
        assert holding.weight <= rule.max_weight[holding.rating] + 1e-4  # type: ignore[index]
    assert any("not a promise" in d for d in portfolio.disclosures)
    assert portfolio.market_data_snapshot.startswith("arch-data:")


def test_riskier_profiles_take_more_risk(engine: PolicyEngine) -> None:
    vols = [allocate(p, engine).volatility for p in ("C1", "C2", "C3", "C4", "C5")]  # type: ignore[arg-type]
    assert vols == sorted(vols) and vols[0] < vols[-1]


def test_backtest_figures_match_a_recomputation(engine: PolicyEngine) -> None:
    """The reported drawdown and volatility are the backtest's, recomputed from the shipped data."""
    import numpy as np

    from tools.allocation import asset_returns
    from tools.market_data import load_market_data

    portfolio = allocate("C3", engine)
    rule = engine.policies.of_kind(AllocationRule)[0]
    returns = asset_returns(rule, load_market_data())
    by_product = {a.product_id: a.id for a in rule.assets}
    weights = {by_product[h.product_id]: h.weight for h in portfolio.holdings}
    monthly = sum(returns[a] * w for a, w in weights.items())
    values = np.cumprod(np.concatenate([[1.0], 1 + monthly.to_numpy()]))
    drawdown = float(np.max(1 - values / np.maximum.accumulate(values)))
    assert portfolio.max_drawdown == pytest.approx(drawdown, abs=1e-4)
    assert portfolio.volatility == pytest.approx(float(monthly.std() * np.sqrt(12)), abs=1e-4)


def test_questionnaire_bands_and_knock_outs(engine: PolicyEngine) -> None:
    ids = [q.id for q in engine.policies.of_kind(QuestionnaireRule)[0].questions]
    best = {
        q.id: max(q.options, key=lambda o: o.points).id
        for q in engine.policies.of_kind(QuestionnaireRule)[0].questions
    }
    assert score_questionnaire(dict.fromkeys(ids, "a"), engine).risk_profile == "C1"
    assert score_questionnaire(best, engine).risk_profile == "C5"
    # A horizon under a year caps even the best answers at C1; so does no capacity for loss.
    assert score_questionnaire(best | {"horizon": "a"}, engine).risk_profile == "C1"
    assert score_questionnaire(best | {"loss_capacity": "a"}, engine).risk_profile == "C1"
    assert score_questionnaire(best | {"understanding": "a"}, engine).risk_profile == "C2"


def test_questionnaire_refuses_incomplete_answers(engine: PolicyEngine) -> None:
    with pytest.raises(ValueError, match="missing"):
        score_questionnaire({"horizon": "a"}, engine)


def test_suitability_gap(engine: PolicyEngine) -> None:
    result = check_suitability("C2", "Emerging Markets Equity Fund", engine)
    assert result.verdict.decision == Decision.BLOCK and result.gap == 3
