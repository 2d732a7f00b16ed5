"""JSON schemas the model fills. The model proposes arguments; deterministic code checks every one.

Lengths and patterns are part of the schema so guided decoding cannot run on (a small model will
happily write an endless "DE0000..." IBAN otherwise).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BlockCardSlots(BaseModel):
    card_type: Literal["debit", "credit", "unknown"] = Field(description="which card the customer means")
    reason: Literal["lost", "stolen", "damaged", "fraud", "other"] = Field(description="why it is blocked")


class TransferSlots(BaseModel):
    amount: float = Field(description="amount to send, as a number, exactly as the customer wrote it")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO currency code")
    payee_name: str = Field(max_length=80, description="who receives the money")
    payee_iban: str | None = Field(  # the pattern bounds the length (xgrammar refuses pattern + maxLength)
        default=None,
        pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$",
        description="IBAN only if the customer wrote one, else null",
    )
    reference: str | None = Field(default=None, max_length=140, description="payment reference if given")
