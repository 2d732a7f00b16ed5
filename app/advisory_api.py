"""The customer's advisory data: the investor profile, holdings, and suitability reports (readable in
the widget and downloadable as HTML). A customer sees only their own (invariant 6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import select

from app.api.deps import CustomerDep, RuntimeDep
from finagent.models import SuitabilityReport, utcnow
from tools.banking import current_profile, positions

router = APIRouter(prefix="/api/advisory")


@router.get("/profile")
async def profile(rt: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    async with rt.sessions() as session:
        row = await current_profile(session, customer.subject, utcnow())
    if row is None:
        return {"profile": None}
    return {
        "profile": {
            "risk_class": row.risk_class,
            "questionnaire_version": row.questionnaire_version,
            "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "score": row.score,
        }
    }


@router.get("/holdings")
async def holdings(rt: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    async with rt.sessions() as session:
        held = await positions(session, customer.subject)
    return {"positions": [{"product_id": p, "amount": str(a)} for p, a in sorted(held.items())]}


@router.get("/reports")
async def reports(rt: RuntimeDep, customer: CustomerDep) -> list[dict[str, Any]]:
    async with rt.sessions() as session:
        rows = (
            await session.scalars(
                select(SuitabilityReport)
                .where(SuitabilityReport.customer_id == customer.subject)
                .order_by(SuitabilityReport.created_at.desc())
                .limit(50)
            )
        ).all()
    return [
        {
            "report_id": r.id,
            "created_at": r.created_at.isoformat(),
            "risk_class": r.content.get("risk_class"),
            "portfolio_id": (r.content.get("portfolio") or {}).get("portfolio_id"),
            "action_id": r.action_id,
        }
        for r in rows
    ]


@router.get("/reports/{report_id}")
async def report(report_id: str, rt: RuntimeDep, customer: CustomerDep, download: bool = False) -> Response:
    async with rt.sessions() as session:
        row = await session.get(SuitabilityReport, report_id)
    if row is None or row.customer_id != customer.subject:
        raise HTTPException(404, "no such report")
    headers = {"Content-Disposition": f'attachment; filename="suitability-report-{row.id[:12]}.html"'}
    return Response(row.html, media_type="text/html; charset=utf-8", headers=headers if download else None)
