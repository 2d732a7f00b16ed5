"""The suitability report of a recommendation or an order: why it fits each part of the profile, the
costs and the risk warnings, with the versions the audit needs. Stored as data and as the HTML the
customer reads in the widget and downloads."""

from __future__ import annotations

import html
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agents.advisory.phrases import CLASS_NAMES
from finagent import audit
from finagent.models import RiskProfile, SuitabilityReport
from policies.schema import PROFILE_SECTIONS, Product
from tools.allocation import ModelPortfolio
from tools.profiling import ProfileScore

SECTION_TITLES = {
    "knowledge_experience": "Knowledge and experience",
    "financial_situation": "Financial situation",
    "objectives_horizon": "Objectives and time horizon",
    "risk_tolerance": "Risk tolerance",
    "capacity_for_loss": "Capacity for loss",
    "sustainability": "Sustainability preferences",
}


def why_it_fits(score: ProfileScore, portfolio: ModelPortfolio) -> dict[str, str]:
    """One paragraph per part of the profile, from the customer's answers and the tool's figures."""
    by_section: dict[str, list[str]] = {s: [] for s in PROFILE_SECTIONS}
    for d in score.drivers:
        by_section[d.section].append(f'"{d.question}": {d.answer}')
    cls = score.risk_class
    fit = {
        "knowledge_experience": f"You told us {'; '.join(by_section['knowledge_experience'])}. The proposal "
        "holds only funds rated for your class and no complex products.",
        "financial_situation": f"You told us {'; '.join(by_section['financial_situation'])}. These answers "
        f"are part of the {score.points} of {score.max_points} points behind your class {cls}.",
        "objectives_horizon": f"You told us {'; '.join(by_section['objectives_horizon'])}. The mix holds "
        f"{portfolio.equity_share * 100:.1f} % in shares, within the cap for class {cls}.",
        "risk_tolerance": f"You told us {'; '.join(by_section['risk_tolerance'])}. In the backtest the mix "
        f"fell at most {portfolio.max_drawdown * 100:.1f} % from a peak, with a volatility of "
        f"{portfolio.volatility * 100:.1f} % a year.",
        "capacity_for_loss": f"You told us {'; '.join(by_section['capacity_for_loss'])}. Its average loss in "
        f"the worst {(1 - portfolio.cvar_level) * 100:.0f} % of months was {portfolio.cvar * 100:.1f} %.",
        "sustainability": f"You told us {'; '.join(by_section['sustainability'])}. None of the shelf's funds "
        "is labelled sustainable yet, so the proposal cannot apply this preference; tell us if that "
        "matters to you.",
    }
    if score.capped_by:
        fit["capacity_for_loss"] += (
            f" Your class is capped at {cls} by your answer to: {', '.join(score.capped_by)}."
        )
    return fit


def report_content(
    profile: RiskProfile, portfolio: ModelPortfolio, shelf: dict[str, Product], order: dict[str, Any] | None
) -> dict[str, Any]:
    score = ProfileScore.model_validate(profile.score)
    return {
        "risk_class": score.risk_class,
        "class_name": CLASS_NAMES[score.risk_class]["en"],
        "portfolio": portfolio.model_dump(mode="json"),
        "why": why_it_fits(score, portfolio),
        "costs": [
            {
                "product_id": h.product_id,
                "name": h.product_name,
                "weight": h.weight,
                "ongoing_charges_pct": shelf[h.product_id].ongoing_charges_pct,
                "entry_charge_pct": shelf[h.product_id].entry_charge_pct,
                "kid": shelf[h.product_id].kid,
            }
            for h in portfolio.holdings
        ],
        "warnings": portfolio.disclosures,
        "order": order,
        "profile": {
            "id": profile.id,
            "completed_at": f"{profile.completed_at:%Y-%m-%d}",
            "expires_at": f"{profile.expires_at:%Y-%m-%d}",
            "points": score.points,
            "max_points": score.max_points,
            "capped_by": score.capped_by,
        },
    }


def render_html(content: dict[str, Any], versions: dict[str, str]) -> str:
    e = html.escape
    p = content["portfolio"]
    rows = "".join(
        f"<tr><td>{e(c['name'])}</td><td>{c['weight'] * 100:.1f} %</td>"
        f"<td>{c['ongoing_charges_pct']:.2f} %</td>"
        f"<td>{c['entry_charge_pct']:.2f} %</td><td>{e(c['kid'])}</td></tr>"
        for c in content["costs"]
    )
    why = "".join(f"<h3>{e(SECTION_TITLES[k])}</h3><p>{e(v)}</p>" for k, v in content["why"].items())
    warnings = "".join(f"<li>{e(w)}</li>" for w in content["warnings"])
    order = content.get("order")
    order_html = f"<p>Order: {e(order['summary'])}</p>" if order else ""
    meta = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in versions.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Suitability report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b2430}}
table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #d5dbe3;padding:.35rem;text-align:left}}
.meta{{color:#5a6573;font-size:.85rem}}</style></head><body>
<h1>Suitability report</h1>
<p>Investor profile: <strong>{e(content["risk_class"])} ({e(content["class_name"])})</strong>, completed
{e(content["profile"]["completed_at"])}, valid until {e(content["profile"]["expires_at"])}.</p>
<h2>Recommendation: {e(p["portfolio_id"])}</h2>{order_html}
<p>Backtest on monthly market data, {e(p["period"])}: volatility {p["volatility"] * 100:.1f} % a year, maximum
drawdown {p["max_drawdown"] * 100:.1f} %, CVaR ({(1 - p["cvar_level"]) * 100:.0f} % worst months)
{p["cvar"] * 100:.1f} %, shares {p["equity_share"] * 100:.1f} %.</p>
<h2>Why it fits your profile</h2>{why}
<h2>Costs</h2><table><tr><th>Fund</th><th>Weight</th><th>Ongoing charges p.a.</th><th>Entry charge</th>
<th>Key information document</th></tr>{rows}</table>
<p>Weighted ongoing charges: {p["ongoing_charges_pct"]:.2f} % a year.</p>
<h2>Risk warnings</h2><ul>{warnings}</ul>
<h2>Record</h2><ul class="meta">{meta}</ul>
</body></html>"""


async def store_report(
    session: AsyncSession,
    *,
    profile: RiskProfile,
    portfolio: ModelPortfolio,
    shelf: dict[str, Product],
    thread_id: str,
    order: dict[str, Any] | None = None,
) -> SuitabilityReport:
    content = report_content(profile, portfolio, shelf, order)
    report_id = uuid.uuid4().hex
    versions = {
        "report": report_id,
        "questionnaire_version": profile.questionnaire_version,
        "market_data_snapshot": portfolio.market_data_snapshot,
        "policy_version": portfolio.policy_version,
    }
    row = SuitabilityReport(
        id=report_id,
        customer_id=profile.customer_id,
        thread_id=thread_id,
        action_id=(order or {}).get("action_id"),
        profile_id=profile.id,
        questionnaire_version=profile.questionnaire_version,
        market_data_snapshot=portfolio.market_data_snapshot,
        policy_version=portfolio.policy_version,
        content=content,
        html=render_html(content, versions),
    )
    session.add(row)
    await audit.record(
        session,
        actor="agent:advisory",
        kind="advice.report",
        subject=report_id,
        payload=versions
        | {
            "customer_id": profile.customer_id,
            "risk_class": content["risk_class"],
            "weights": {h.product_id: h.weight for h in portfolio.holdings},
            "action_id": row.action_id,
        },
    )
    return row
