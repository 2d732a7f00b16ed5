"""The recommendation: the model portfolio for the customer's current profile, computed by
tools.allocation, stated with the tool's own figures, explained by the model (sentences with numbers
the tool did not produce are dropped), and recorded in a suitability report."""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime

from agents.advisory.grounding import grounded_sentences, number_forms
from agents.advisory.phrases import phrase
from agents.advisory.prompts import EXPLAIN_SYSTEM
from agents.advisory.report import store_report
from agents.compliance import releasable
from agents.deps import Deps
from agents.state import ConversationState
from finagent.llm import LLMError
from finagent.models import RiskProfile
from policies.schema import Product, SuitabilityRule
from tools.allocation import AllocationError, ModelPortfolio, allocate
from tools.market_data import MarketDataError
from tools.policy_engine import PolicyEngine
from tools.profiling import ProfileScore


def shelf(engine: PolicyEngine) -> dict[str, Product]:
    return {p.id: p for p in engine.policies.of_kind(SuitabilityRule)[0].products}


def product_name(product: Product, language: str) -> str:
    return product.name_zh if language == "zh" and product.name_zh else product.name


def allowed_numbers(portfolio: ModelPortfolio, score: ProfileScore | None = None) -> set[str]:
    """Every number an advisory reply about this portfolio may state."""
    values: list[float | int | str] = list(portfolio.figures().values())
    values += [round((1 - portfolio.cvar_level) * 100), portfolio.period]
    values += [h.weight * 100 for h in portfolio.holdings]
    if score is not None:
        values += [score.points, score.max_points]
    return number_forms(values)


def proposal_text(portfolio: ModelPortfolio, products: dict[str, Product], language: str) -> str:
    f = portfolio.figures()
    weights = ", ".join(
        f"{product_name(products[h.product_id], language)} {h.weight * 100:.1f} %" for h in portfolio.holdings
    )
    return phrase(
        "proposal",
        language,
        cls=portfolio.risk_profile,
        portfolio=product_name(products[portfolio.portfolio_id], language),
        weights=weights,
        period=portfolio.period,
        vol=f"{f['volatility']:.1f}",
        mdd=f"{f['max_drawdown']:.1f}",
        tail=f"{(1 - portfolio.cvar_level) * 100:.0f}",
        cvar=f"{f['cvar']:.1f}",
        equity=f"{f['equity_share']:.1f}",
        charges=f"{portfolio.ongoing_charges_pct:.2f}",
    )


async def explain(
    deps: Deps, portfolio: ModelPortfolio, score: ProfileScore, language: str
) -> tuple[str, int]:
    """The model's explanation, keeping only sentences whose numbers the tool produced and that pass
    the compliance check. Returns the text and how many sentences were dropped."""
    facts = {
        "risk_class": score.risk_class,
        "answers": {d.question: d.answer for d in score.drivers},
        "holdings": {h.product_name: f"{h.weight * 100:.1f} %" for h in portfolio.holdings},
        "backtest_period": portfolio.period,
        "volatility_pct_per_year": f"{portfolio.volatility * 100:.1f}",
        "max_drawdown_pct": f"{portfolio.max_drawdown * 100:.1f}",
        "share_of_equities_pct": f"{portfolio.equity_share * 100:.1f}",
    }
    system = EXPLAIN_SYSTEM.format(language="Chinese" if language == "zh" else "English")
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(facts, ensure_ascii=False)},
    ]
    try:  # collected whole, not streamed: every sentence is checked before any is shown
        text = "".join([piece async for piece in deps.llm.stream(messages, max_tokens=160)])
    except LLMError:
        return "", 0
    # The customer's own answers ("Less than 25 %") are in the facts too, so their numbers may be quoted.
    allowed = allowed_numbers(portfolio, score) | number_forms([d.answer for d in score.drivers])
    kept, dropped = grounded_sentences(text, allowed)
    sentences = [s for s in kept.split("\n") if s and releasable(s)]
    return " ".join(sentences), dropped


async def recommend(
    state: ConversationState, runtime: Runtime[Deps], engine: PolicyEngine, profile: RiskProfile
) -> dict[str, Any]:
    deps, language = runtime.context, state.get("language", "en")
    score = ProfileScore.model_validate(profile.score)
    try:
        portfolio = allocate(score.risk_class, engine)
    except (AllocationError, MarketDataError):
        return {"reply": phrase("allocation_unavailable", language), "status": "error"}
    products = shelf(engine)
    explanation, dropped = await explain(deps, portfolio, score, language)
    async with deps.sessions() as session:
        report = await store_report(
            session, profile=profile, portfolio=portfolio, shelf=products, thread_id=state["thread_id"]
        )
        await session.commit()
    link = f"/api/advisory/reports/{report.id}"
    parts = [
        proposal_text(portfolio, products, language),
        explanation,
        phrase(
            "how_to_invest",
            language,
            portfolio=product_name(products[portfolio.portfolio_id], language),
        ),
    ]
    return {
        "reply": "\n\n".join(p for p in parts if p),
        "status": "answered",
        "product_types": ["portfolio"],
        "advice": advice_view(portfolio, products, language) | {"report_id": report.id, "report_url": link},
        "notice": f"advisory: {dropped} explanation sentence(s) dropped, numbers absent from the tool output"
        if dropped
        else "",
    }


def advice_view(portfolio: ModelPortfolio, products: dict[str, Product], language: str) -> dict[str, Any]:
    """What the widget draws: the tool's weights and backtest, nothing else."""
    return {
        "portfolio_id": portfolio.portfolio_id,
        "risk_class": portfolio.risk_profile,
        "weights": [
            {
                "product_id": h.product_id,
                "name": product_name(products[h.product_id], language),
                "weight": h.weight,
            }
            for h in portfolio.holdings
        ],
        "backtest": [p.model_dump() for p in portfolio.backtest],
        "figures": portfolio.figures(),
        "period": portfolio.period,
    }
