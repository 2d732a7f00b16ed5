"""Model portfolios: the highest expected return within a risk profile's volatility budget.

Uses only products suitable for the profile, with per-rating weight caps from the suitability
pack. Figures are long-run estimates from the pack's capital-market assumptions and always go
out with the pack's disclosures: a proposal, never a promise.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from scipy.optimize import minimize

from policies.schema import AllocationRule, RiskClass, SuitabilityRule
from tools.policy_engine import PolicyEngine


class Holding(BaseModel):
    asset: str
    product_id: str
    weight: float


class ModelPortfolio(BaseModel):
    risk_profile: RiskClass
    holdings: list[Holding]
    expected_return: float
    volatility: float
    disclosures: list[str]
    policy_version: str


def allocate(profile: RiskClass, engine: PolicyEngine) -> ModelPortfolio:
    rule = engine.policies.of_kind(AllocationRule)[0]
    suit = engine.policies.of_kind(SuitabilityRule)[0]
    ratings = {p.id: p.rating for p in suit.products}
    allowed = int(suit.max_rating[profile][1])
    mu = np.array([a.expected_return for a in rule.assets])
    vol = np.array([a.volatility for a in rule.assets])
    cov = np.array(rule.correlations) * np.outer(vol, vol)
    caps = np.array(
        [
            rule.max_weight[ratings[a.product_id]] if int(ratings[a.product_id][1]) <= allowed else 0.0
            for a in rule.assets
        ]
    )
    budget = rule.max_volatility[profile]
    start = caps / caps.sum()
    result = minimize(
        lambda w: -float(mu @ w),
        start,
        method="SLSQP",
        bounds=[(0.0, float(c)) for c in caps],
        constraints=[
            {"type": "eq", "fun": lambda w: float(w.sum() - 1.0)},
            {"type": "ineq", "fun": lambda w: budget**2 - float(w @ cov @ w)},
        ],
        options={"ftol": 1e-10, "maxiter": 500},
    )
    if not result.success:
        raise RuntimeError(f"allocation for {profile} did not converge: {result.message}")
    weights = np.clip(result.x, 0, None)
    weights = np.round(weights / weights.sum(), 4)
    holdings = [
        Holding(asset=a.name, product_id=a.product_id, weight=float(w))
        for a, w in zip(rule.assets, weights, strict=True)
        if w > 0
    ]
    return ModelPortfolio(
        risk_profile=profile,
        holdings=holdings,
        expected_return=round(float(mu @ weights), 4),
        volatility=round(float(np.sqrt(weights @ cov @ weights)), 4),
        disclosures=list(rule.disclosures),
        policy_version=engine.version,
    )
