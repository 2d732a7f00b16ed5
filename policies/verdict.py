"""The verdict every deterministic tool returns. The model proposes; this decides."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Decision(StrEnum):
    ALLOW = "ALLOW"
    REQUIRE_APPROVAL = "REQUIRE_APPROVAL"
    BLOCK = "BLOCK"


_ORDER = {Decision.ALLOW: 0, Decision.REQUIRE_APPROVAL: 1, Decision.BLOCK: 2}


class Reason(BaseModel):
    rule_id: str
    reason_code: str
    severity: str = "medium"
    explanation: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    decision: Decision = Decision.REQUIRE_APPROVAL


class Verdict(BaseModel):
    decision: Decision
    reasons: list[Reason] = Field(default_factory=list)
    policy_version: str
    approvers_required: int = 0

    @classmethod
    def combine(cls, verdicts: list[Verdict], policy_version: str) -> Verdict:
        """The strictest decision wins; reasons accumulate; approvers take the maximum."""
        decision = max((v.decision for v in verdicts), key=_ORDER.__getitem__, default=Decision.ALLOW)
        return cls(
            decision=decision,
            reasons=[r for v in verdicts for r in v.reasons],
            policy_version=policy_version,
            approvers_required=max((v.approvers_required for v in verdicts), default=0),
        )
