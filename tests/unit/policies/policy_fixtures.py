"""Request builders shared by the policy tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from policies.actions import ActionRequest, CustomerContext, PastTransfer

PACKS = Path(__file__).resolve().parents[3] / "policies" / "packs"
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def customer(**overrides: Any) -> CustomerContext:
    base: dict[str, Any] = {
        "customer_id": "c-1", "name": "Anna Berger", "kyc_status": "verified", "risk_profile": "C3",
        "account_opened": date(2019, 3, 1), "last_activity": date(2025, 6, 1),
    }  # fmt: skip
    return CustomerContext(**(base | overrides))


def past(
    hours_ago: float,
    amount: float,
    direction: Literal["in", "out"] = "out",
    counterparty: str = "Landlord GmbH",
) -> PastTransfer:
    return PastTransfer(
        at=NOW - timedelta(hours=hours_ago),
        amount=Decimal(str(amount)),
        direction=direction,
        counterparty=counterparty,
    )


def transfer(
    amount: float,
    payee: str = "Landlord GmbH",
    *,
    country: str = "DE",
    history: list[PastTransfer] | None = None,
    known: list[str] | None = None,
    **cust: Any,
) -> ActionRequest:
    return ActionRequest(
        action="transfer",
        args={"amount": str(amount), "payee_name": payee, "payee_country": country},
        customer=customer(**cust),
        history=history if history is not None else [past(24 * 10, 800)],
        known_payees=known if known is not None else ["Landlord GmbH"],
        now=NOW,
    )
