"""The verdict every deterministic tool returns. The model proposes; this decides."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Decision(StrEnum):
    ALLOW = "ALLOW"
    REQUIRE_APPROVAL = "REQUIRE_APPROVAL"
    BLOCK = "BLOCK"


_ORDER = {Decision.ALLOW: 0, Decision.REQUIRE_APPROVAL: 1, Decision.BLOCK: 2}


_SEVERITY = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class CustomerText(BaseModel):
    """What a customer is told about a reason: neutral words, never the rule, its evidence or a list
    name (telling a customer that they matched an AML or sanctions rule is tipping-off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    en: str = Field(min_length=5)
    zh: str = Field(min_length=2)

    def get(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


class Reason(BaseModel):
    """Why a verdict is what it is. Staff see all of it; customers see only ``customer_text``."""

    rule_id: str
    reason_code: str
    severity: str = "medium"
    explanation: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    decision: Decision = Decision.REQUIRE_APPROVAL
    customer_text: CustomerText | None = None


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

    def customer_text(self) -> CustomerText | None:
        """The neutral text of the most severe reason behind the decision, or None for ALLOW."""
        deciding = [r for r in self.reasons if r.decision == self.decision and r.customer_text is not None]
        if self.decision == Decision.ALLOW or not deciding:
            return None
        return max(deciding, key=lambda r: _SEVERITY.get(r.severity, 1)).customer_text

    def stricter_than(self, earlier: Verdict) -> bool:
        """True when this verdict stops something ``earlier`` let through: a stricter decision, or a
        reason to hold or block that the earlier verdict did not have (an officer never saw it)."""
        if _ORDER[self.decision] != _ORDER[earlier.decision]:
            return _ORDER[self.decision] > _ORDER[earlier.decision]
        known = {(r.rule_id, r.decision) for r in earlier.reasons}
        new = [r for r in self.reasons if r.decision != Decision.ALLOW]
        return any((r.rule_id, r.decision) not in known for r in new)
