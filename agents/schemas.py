"""JSON schemas the model fills. The model proposes arguments; deterministic code checks every one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BlockCardSlots(BaseModel):
    card_type: Literal["debit", "credit", "unknown"] = Field(description="which card the customer means")
    reason: Literal["lost", "stolen", "damaged", "fraud", "other"] = Field(description="why it is blocked")


class TransferSlots(BaseModel):
    amount: float = Field(description="amount to send, as a number, exactly as the customer wrote it")
    currency: str = Field(default="EUR", description="ISO currency code")
    payee_name: str = Field(description="who receives the money")
    payee_iban: str | None = Field(default=None, description="IBAN if the customer gave one")
    reference: str | None = Field(default=None, description="payment reference if given")
