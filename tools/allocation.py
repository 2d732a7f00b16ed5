"""Model portfolios from real market data: skfolio's mean-risk optimiser within each risk class's limits.

For a class, the eligible products are those the suitability rule lets the class buy. Each maps to an
asset class whose returns come from the shipped monthly market data (tools/market_data.py). The
optimiser maximises the historical mean return subject to the class's volatility and CVaR budgets,
its equity cap and each product's concentration limit. The result carries the weights and the risk
figures of a monthly-rebalanced backtest of those weights: volatility, maximum drawdown, CVaR. These
are the only numbers an advisory reply may state. The figures describe the past, never a promise.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import BaseModel
from skfolio import RiskMeasure
from skfolio.optimization import MeanRisk, ObjectiveFunction

from policies.schema import AllocationRule, RiskClass, SuitabilityRule
from tools.market_data import SERIES, MarketData, load_market_data
from tools.policy_engine import PolicyEngine


class AllocationError(RuntimeError):
    """No portfolio meets the class's limits (the pack's limits contradict each other or the data)."""


class Holding(BaseModel):
    asset: str
    asset_zh: str
    product_id: str
    product_name: str
    rating: str
    weight: float  # 0-1, four decimals


class BacktestPoint(BaseModel):
    month: str  # YYYY-MM
    value: float  # growth of 1.0 invested at the start


class ModelPortfolio(BaseModel):
    risk_profile: RiskClass
    portfolio_id: str  # the shelf's model portfolio for the class (MP-Cn)
    holdings: list[Holding]
    equity_share: float
    volatility: float  # annualised, from the backtest
    max_drawdown: float  # largest peak-to-trough fall of the backtest, as a positive share
    cvar: float  # monthly CVaR at cvar_level, as a positive share
    cvar_level: float
    ongoing_charges_pct: float  # weighted ongoing charges of the funds, per year
    backtest: list[BacktestPoint]  # year-end values, for the chart
    period: str  # "1926-07 to 2018-11"
    market_data_snapshot: str
    disclosures: list[str]
    policy_version: str

    def figures(self) -> dict[str, float]:
        """The numbers a reply may state, as percentages rounded the way replies show them."""
        shown = {f"weight:{h.product_id}": h.weight for h in self.holdings}
        shown |= {
            "volatility": self.volatility,
            "max_drawdown": self.max_drawdown,
            "cvar": self.cvar,
            "equity_share": self.equity_share,
            "cvar_level": self.cvar_level,
        }
        return {k: round(v * 100, 1) for k, v in shown.items()} | {
            "ongoing_charges_pct": self.ongoing_charges_pct
        }


def asset_returns(rule: AllocationRule, data: MarketData) -> pd.DataFrame:
    """Monthly returns of each asset class: its series, mixed by the pack's weights."""
    unknown = sorted({s for a in rule.assets for s in a.series} - set(SERIES))
    if unknown:
        raise AllocationError(f"the allocation pack names unknown market-data series {unknown}")
    return pd.DataFrame({a.id: sum(data.returns[s] * w for s, w in a.series.items()) for a in rule.assets})


def _drawdown(values: np.ndarray) -> float:
    peaks = np.maximum.accumulate(values)
    return float(np.max(1 - values / peaks))


def _cvar(returns: np.ndarray, level: float) -> float:
    cut = int(np.ceil(len(returns) * (1 - level)))
    return float(-np.sort(returns)[:cut].mean())


def allocate(profile: RiskClass, engine: PolicyEngine) -> ModelPortfolio:
    return _allocate(profile, engine)


@lru_cache(maxsize=64)  # engines are immutable: a pack change builds a new engine, so a new cache key
def _allocate(profile: RiskClass, engine: PolicyEngine) -> ModelPortfolio:
    rule = engine.policies.of_kind(AllocationRule)[0]
    suit = engine.policies.of_kind(SuitabilityRule)[0]
    products = {p.id: p for p in suit.products}
    allowed = int(suit.max_rating[profile][1])
    limits = rule.class_limits[profile]
    eligible = [a for a in rule.assets if int(products[a.product_id].rating[1]) <= allowed]
    data = load_market_data()
    returns = asset_returns(rule, data)[[a.id for a in eligible]]
    caps = np.array([rule.max_weight[products[a.product_id].rating] for a in eligible])
    equity = np.array([[a.equity_share for a in eligible]])
    model = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_RETURN,
        risk_measure=RiskMeasure.STANDARD_DEVIATION,
        max_standard_deviation=limits.max_volatility / np.sqrt(12),
        max_cvar=limits.max_cvar,
        cvar_beta=rule.cvar_level,
        min_weights=0.0,
        max_weights=caps,
        left_inequality=equity,
        right_inequality=np.array([limits.max_equity]),
        raise_on_failure=False,
    )
    if len(eligible) == 1:
        weights = np.array([1.0])
    else:
        with warnings.catch_warnings():
            # The balanced fund's proxy is a mix of two other series, so the covariance is singular by
            # construction; skfolio's nearest positive-definite repair is the intended handling.
            warnings.filterwarnings("ignore", message="The covariance matrix is not positive definite")
            model.fit(returns)
        fitted = getattr(model, "weights_", None)
        weights = np.array([np.nan]) if fitted is None else np.asarray(fitted, dtype=float)
    if not np.all(np.isfinite(weights)):
        raise AllocationError(f"no {profile} portfolio meets the allocation limits")
    weights = np.clip(np.asarray(weights, dtype=float), 0, None)
    weights[weights < 5e-4] = 0.0
    weights = np.round(weights / weights.sum(), 4)
    weights[int(np.argmax(weights))] += round(1 - float(weights.sum()), 4)  # shown weights add to 100 %
    monthly = returns.to_numpy() @ weights
    values = np.cumprod(1 + monthly)
    index = returns.index
    year_ends = [i for i in range(len(index)) if i == len(index) - 1 or index[i].year != index[i + 1].year]
    held = [(a, float(w)) for a, w in zip(eligible, weights, strict=True) if w > 0]
    return ModelPortfolio(
        risk_profile=profile,
        portfolio_id=f"MP-{profile}",
        holdings=[
            Holding(
                asset=a.name,
                asset_zh=a.name_zh,
                product_id=a.product_id,
                product_name=products[a.product_id].name,
                rating=products[a.product_id].rating,
                weight=w,
            )
            for a, w in held
        ],
        equity_share=round(sum(a.equity_share * w for a, w in held), 4),
        volatility=round(float(np.std(monthly, ddof=1) * np.sqrt(12)), 4),
        max_drawdown=round(_drawdown(np.concatenate([[1.0], values])), 4),
        cvar=round(_cvar(monthly, rule.cvar_level), 4),
        cvar_level=rule.cvar_level,
        ongoing_charges_pct=round(sum(products[a.product_id].ongoing_charges_pct * w for a, w in held), 2),
        backtest=[
            BacktestPoint(month=f"{index[i]:%Y-%m}", value=round(float(values[i]), 4)) for i in year_ends
        ],
        period=f"{data.first_month()} to {data.last_month()}",
        market_data_snapshot=data.snapshot_id,
        disclosures=list(rule.disclosures),
        policy_version=engine.version,
    )
