"""Orders: "invest 10,000 in the balanced portfolio", "buy the Global Equity fund", an insistence after
a suitability warning, and rebalancing. The product and the amount come from the customer's words,
the legs from the allocation tool, the verdict from the policy engine; agents.proposals records it
and the main graph takes it through confirmation, approval and execution."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from langgraph.runtime import Runtime
from sqlalchemy import select

from agents.advisory.phrases import phrase
from agents.advisory.proposal import product_name, shelf
from agents.advisory.words import order_amounts, products_named, vulnerability_signals, without_names
from agents.deps import Deps
from agents.proposals import record_proposal
from agents.state import ConversationState
from finagent.models import Action, RiskProfile, utcnow
from policies.schema import AllocationRule, Product, SuitabilityRule
from tools.allocation import allocate
from tools.banking import action_request, load_snapshot, positions
from tools.policy_engine import PolicyEngine
from tools.profiling import ProfileScore

CENT = Decimal("0.01")


def split(amount: Decimal, weights: dict[str, float]) -> list[dict[str, str]]:
    """Legs in cents that add up to the amount exactly (the remainder goes to the largest weight)."""
    legs = {p: (amount * Decimal(str(w))).quantize(CENT, rounding=ROUND_DOWN) for p, w in weights.items()}
    largest = max(weights, key=weights.__getitem__)
    legs[largest] += amount - sum(legs.values())
    return [{"product_id": p, "amount": str(a)} for p, a in legs.items() if a != 0]


def _legs(product: Product, amount: Decimal, engine: PolicyEngine) -> list[dict[str, str]]:
    if product.product_type != "portfolio":
        return [{"product_id": product.id, "amount": str(amount)}]
    portfolio = allocate(f"C{product.rating[1]}", engine)  # type: ignore[arg-type]
    return split(amount, {h.product_id: h.weight for h in portfolio.holdings})


def _options(products: list[Product], language: str) -> str:
    return ", ".join(f"{product_name(p, language)} ({p.rating})" for p in products)


def alternative(products: dict[str, Product], risk_class: str, wanted: Product) -> Product:
    """A suitable product: the customer's model portfolio (for a portfolio, a complex product, or when
    nothing closer fits), else the highest-rated fund the class may buy."""
    portfolio = products[f"MP-{risk_class}"]
    if wanted.product_type == "portfolio" or wanted.complex:
        return portfolio
    funds = [p for p in products.values() if p.product_type == "fund" and p.rating[1] <= risk_class[1]]
    return max(funds, key=lambda p: p.rating) if funds else portfolio


async def propose_order(
    state: ConversationState,
    runtime: Runtime[Deps],
    engine: PolicyEngine,
    profile: RiskProfile | None,
    *,
    insistent_of: Action | None = None,
) -> dict[str, Any]:
    deps, language, message = runtime.context, state.get("language", "en"), state["user_message"]
    products = shelf(engine)
    if insistent_of is not None:
        product, amount = products[insistent_of.args["product_id"]], Decimal(insistent_of.args["amount"])
    else:
        named = products_named(message, list(products.values()))
        cls = profile.risk_class if profile is not None else None
        if not named:
            fits = [p for p in products.values() if cls is None or p.rating[1] <= cls[1]]
            key, fill = ("which_product", {"cls": cls}) if cls else ("which_product_no_profile", {})
            return {
                "reply": phrase(key, language, options=_options(fits, language), **fill),
                "status": "clarify",
            }
        if len(named) > 1:
            return {
                "reply": phrase("one_product", language, options=_options(named, language)),
                "status": "clarify",
            }
        product = named[0]
        amounts = order_amounts(without_names(message, product))
        if len(amounts) != 1:
            key = "how_much" if not amounts else "which_amount"
            return {
                "reply": phrase(key, language, product=product_name(product, language)),
                "status": "clarify",
            }
        (amount,) = amounts
    now = utcnow()
    async with deps.sessions() as session:
        snap = await load_snapshot(session, state["customer_id"], now)
    score = ProfileScore.model_validate(profile.score) if profile is not None and profile.score else None
    signals = sorted(set(vulnerability_signals(message)) | set(score.signals if score else []))
    args: dict[str, Any] = {
        "account_id": snap.accounts[0].id,
        "product_id": product.id,
        "product_name": product.name,
        "rating": product.rating,
        "amount": str(amount),
        "currency": snap.accounts[0].currency,
        "legs": _legs(product, amount, engine),
        "vulnerability_signals": signals,
        "risk_profile": profile.risk_class if profile is not None else None,
        "profile_id": profile.id if profile is not None else None,
    }
    if product.product_type == "portfolio":
        args["portfolio_id"] = product.id
    summary = f"invest {args['currency']} {amount:,.2f} in the {product.name} ({product.rating})"
    if insistent_of is not None:
        rule = engine.policies.of_kind(SuitabilityRule)[0]
        text = rule.insistent_customer_text
        args |= {
            "insistent": True,
            "warning_shown": text.en if text else "",
            "refused_action": insistent_of.id,
        }
        summary += ", against our suitability warning"
    verdict = engine.check_action(action_request(snap, "buy_product", args, now))
    quoted = re.sub(r"\s+", " ", message)[:300]
    update = await record_proposal(
        deps,
        state,
        agent="advisory",
        action_type="buy_product",
        args=args,
        summary=summary,
        rationale=f'Customer wrote: "{quoted}". Product and amount read from the message; legs from the '
        f"allocation tool; profile {args['risk_profile']} (profile id {args['profile_id']}).",
        verdict=verdict,
    )
    update["product_types"] = [product.product_type]
    if update["status"] != "blocked":
        return update
    codes = {r["reason_code"] for r in update["verdict"]["reasons"] if r["decision"] == "BLOCK"}
    extra: list[str] = []
    if "RISK_PROFILE_REQUIRED" in codes:
        extra.append(phrase("profile_first", language))
    elif codes == {"PRODUCT_ABOVE_RISK_PROFILE"} and profile is not None and profile.risk_class:
        better = alternative(products, profile.risk_class, product)
        extra.append(
            phrase(
                "alternative",
                language,
                cls=profile.risk_class,
                alternative=f"{product_name(better, language)} ({better.rating})",
            )
        )
        rule = engine.policies.of_kind(SuitabilityRule)[0]
        gap = int(product.rating[1]) - int(rule.max_rating[profile.risk_class][1])  # type: ignore[index]
        if insistent_of is None and gap <= rule.insistent_max_gap and not product.complex:
            extra.append(phrase("insist_hint", language, product=product_name(product, language)))
    return update | {"reply": " ".join([update["reply"], *extra])}


async def refused_order(deps: Deps, thread_id: str) -> Action | None:
    """The latest order in this conversation refused only for being above the profile."""
    async with deps.sessions() as session:
        rows = (
            await session.scalars(
                select(Action)
                .where(
                    Action.thread_id == thread_id, Action.type == "buy_product", Action.status == "blocked"
                )
                .order_by(Action.created_at.desc())
                .limit(1)
            )
        ).all()
    if not rows:
        return None
    codes = {r["reason_code"] for r in rows[0].verdict.get("reasons", []) if r.get("decision") == "BLOCK"}
    return rows[0] if codes == {"PRODUCT_ABOVE_RISK_PROFILE"} and not rows[0].args.get("insistent") else None


def drift(
    held: dict[str, Decimal], target: dict[str, float]
) -> tuple[Decimal, dict[str, float], dict[str, float]]:
    total = sum(held.values(), Decimal(0))
    current = {p: float(a / total) for p, a in held.items()} if total else {}
    gaps = {p: current.get(p, 0.0) - target.get(p, 0.0) for p in sorted(set(current) | set(target))}
    return total, current, gaps


async def propose_rebalance(
    state: ConversationState, runtime: Runtime[Deps], engine: PolicyEngine, profile: RiskProfile
) -> dict[str, Any]:
    deps, language = runtime.context, state.get("language", "en")
    async with deps.sessions() as session:
        held = await positions(session, state["customer_id"])
    if not held:
        return {"reply": phrase("no_holdings", language), "status": "answered"}
    cls = profile.risk_class or "C1"
    portfolio = allocate(cls, engine)  # type: ignore[arg-type]
    products = shelf(engine)
    band = engine.policies.of_kind(AllocationRule)[0].rebalance_band
    target = {h.product_id: h.weight for h in portfolio.holdings}
    total, current, gaps = drift(held, target)
    shown = ", ".join(
        f"{product_name(products[p], language)} {current.get(p, 0) * 100:.1f} % "
        f"/ {target.get(p, 0) * 100:.1f} %"
        for p in gaps
    )
    name = product_name(products[portfolio.portfolio_id], language)
    if all(abs(g) <= band + 1e-9 for g in gaps.values()):
        return {
            "reply": phrase("within_bands", language, band=f"{band * 100:.0f}", portfolio=name, drift=shown),
            "status": "answered",
        }
    wanted = {p: Decimal(str(w)) * total for p, w in target.items()}
    legs = {p: (wanted.get(p, Decimal(0)) - held.get(p, Decimal(0))).quantize(CENT) for p in gaps}
    largest = max(target, key=target.__getitem__)
    legs[largest] -= sum(legs.values())  # net to zero in cents
    args: dict[str, Any] = {
        "portfolio_id": portfolio.portfolio_id,
        "risk_profile": cls,
        "profile_id": profile.id,
        "legs": [{"product_id": p, "amount": str(a)} for p, a in legs.items() if a != 0],
        "band": band,
        "drift": {p: round(g, 4) for p, g in gaps.items()},
    }
    moves = ", ".join(
        f"{'buy' if Decimal(leg['amount']) > 0 else 'sell'} {products[leg['product_id']].name} "
        f"EUR {abs(Decimal(leg['amount'])):,.2f}"
        for leg in args["legs"]
    )
    now = utcnow()
    async with deps.sessions() as session:
        snap = await load_snapshot(session, state["customer_id"], now)
    verdict = engine.check_action(action_request(snap, "rebalance_portfolio", args, now))
    update = await record_proposal(
        deps,
        state,
        agent="advisory",
        action_type="rebalance_portfolio",
        args=args,
        summary=f"rebalance to the {products[portfolio.portfolio_id].name}: {moves}",
        rationale=f"Drift check against {portfolio.portfolio_id} with a band of {band:.2%}; "
        "positions at cost.",
        verdict=verdict,
    )
    intro = phrase("drifted", language, portfolio=name, band=f"{band * 100:.0f}", drift=shown)
    return update | {"reply": f"{intro} {update['reply']}", "product_types": ["portfolio"]}
