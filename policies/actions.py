"""What the agents ask the policy engine to decide: an action, its arguments, and who asks.

The customer context and history come from the authenticated session and the ledger, never from
model output; the model only fills ``action`` and ``args``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator


class CustomerContext(BaseModel):
    customer_id: str
    name: str
    country: str = "DE"
    kyc_status: Literal["verified", "pending", "expired", "failed"]
    risk_profile: Literal["C1", "C2", "C3", "C4", "C5"] | None = None
    account_opened: date
    last_activity: date | None = None


class PastTransfer(BaseModel):
    at: datetime  # timezone-aware
    amount: Decimal = Field(gt=0)
    currency: str = "EUR"
    direction: Literal["in", "out"]
    counterparty: str  # payee/payer name
    counterparty_country: str = "DE"

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("transfer time must be timezone-aware")
        return value


class ActionRequest(BaseModel):
    action: str  # "transfer", "block_card", "raise_card_limit", "buy_product", ...
    args: dict[str, Any]  # transfer: amount, currency, payee_name, payee_country, payee_iban (opt)
    customer: CustomerContext
    history: list[PastTransfer] = []  # last 90 days
    known_payees: list[str] = []
    # The balance the amount is drawn from, from the ledger; None when the caller has no ledger (a
    # simulation over past transfers), and then sufficient-funds rules do not apply.
    available_balance: Decimal | None = None
    now: datetime

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return value


class TransferArgs(BaseModel):
    """The arguments of a ``transfer`` action, validated before any rule looks at them."""

    amount: Decimal = Field(gt=0, le=Decimal("1e12"))
    currency: Literal["EUR"] = "EUR"  # the packs' thresholds are in EUR; other currencies are refused
    payee_name: str = Field(min_length=1)
    payee_country: str = "DE"
    payee_iban: str | None = None
