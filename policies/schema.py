"""Pydantic schemas for policy packs. A pack is YAML: a name, a version and a list of rules.

Every rule carries the fields compliance needs to audit a verdict (id, version, severity, reason
code, plain-language explanation, decision); its ``kind`` selects the typed parameters it takes.
Unknown fields are refused so a typo in a threshold name cannot silently fall back to a default.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policies.verdict import CustomerText, Decision

RiskClass = Literal["C1", "C2", "C3", "C4", "C5"]
ProductRating = Literal["R1", "R2", "R3", "R4", "R5"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleBase(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    version: int = Field(ge=1)
    severity: Literal["low", "medium", "high", "critical"]
    reason_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    explanation: str = Field(min_length=10, description="for staff and the audit trail, never for customers")
    decision: Decision
    customer_text: CustomerText | None = Field(
        default=None, description="what the customer is told instead (English and Chinese)"
    )
    enabled: bool = True

    # Rules that judge a customer's action must say what the customer is told when they hold or block
    # it; the outgoing-text rules judge our own replies, which the customer never sees when they fail.
    judges_actions: ClassVar[bool] = True

    @model_validator(mode="after")
    def _customer_text_required(self) -> RuleBase:
        if self.judges_actions and self.decision != Decision.ALLOW and self.customer_text is None:
            raise ValueError(
                "customer_text (en, zh) is required: a customer is told this neutral text, never the rule"
            )
        return self


# --- transaction monitoring -------------------------------------------------------------------
class VelocityRule(RuleBase):
    kind: Literal["velocity"]
    window_hours: int = Field(gt=0)
    max_count: int = Field(gt=0, description="outgoing transfers in the window, this one included")


class StructuringRule(RuleBase):
    kind: Literal["structuring"]
    threshold: Decimal = Field(gt=0)
    band_pct: Decimal = Field(gt=0, lt=100, description="how far below the threshold counts as 'just under'")
    window_hours: int = Field(gt=0)
    min_count: int = Field(ge=1, description="near-threshold transfers in the window, this one included")


class SplitPaymentsRule(RuleBase):
    kind: Literal["split_payments"]
    window_hours: int = Field(gt=0)
    min_count: int = Field(ge=2, description="transfers to the same payee in the window, this one included")


class RapidInOutRule(RuleBase):
    kind: Literal["rapid_in_out"]
    window_hours: int = Field(gt=0)
    min_incoming: Decimal = Field(ge=0)
    min_outgoing_share: Decimal = Field(gt=0, le=1, description="outgoing / incoming in the window")


class RoundTripRule(RuleBase):
    kind: Literal["round_trip"]
    window_days: int = Field(gt=0)
    min_amount: Decimal = Field(ge=0)


class NewPayeeLargeRule(RuleBase):
    kind: Literal["new_payee_large"]
    min_amount: Decimal = Field(gt=0)
    aggregate_hours: int = Field(
        gt=0, description="recent transfers to the same payee count towards the amount"
    )


class FanRule(RuleBase):
    kind: Literal["fan_in", "fan_out"]
    window_days: int = Field(gt=0)
    min_counterparties: int = Field(ge=2)
    min_total: Decimal = Field(ge=0)


class RoundAmountRule(RuleBase):
    kind: Literal["round_amount"]
    unit: Decimal = Field(gt=0)
    min_amount: Decimal = Field(gt=0)


class DormantReactivationRule(RuleBase):
    kind: Literal["dormant_reactivation"]
    dormant_days: int = Field(gt=0)
    min_amount: Decimal = Field(ge=0)
    aggregate_hours: int = Field(gt=0)


class JurisdictionRule(RuleBase):
    kind: Literal["jurisdiction"]
    countries: list[str] = Field(min_length=1)

    @field_validator("countries")
    @classmethod
    def _iso2(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if len(c) != 2 or not c.isalpha() or not c.isupper()]
        if bad:
            raise ValueError(f"not ISO 3166 alpha-2 codes: {bad}")
        return value


class LinkedAlertsRule(RuleBase):
    """Batch only: an account trading with several already-alerted accounts is alerted too."""

    kind: Literal["linked_alerts"]
    min_alerted_counterparties: int = Field(ge=1)


class WatchlistEntry(_Strict):
    name: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    country: str | None = None
    list_name: str


class WatchlistRule(RuleBase):
    kind: Literal["watchlist"]
    block_score: float = Field(gt=0, le=100)
    review_score: float = Field(gt=0, le=100)
    entries: list[WatchlistEntry] = Field(min_length=1)
    review_customer_text: CustomerText = Field(
        description="what the customer is told when a weaker match holds the payment for review"
    )

    @model_validator(mode="after")
    def _ordered(self) -> WatchlistRule:
        if self.review_score > self.block_score:
            raise ValueError("review_score must not exceed block_score")
        return self


# --- approvals, KYC -----------------------------------------------------------------------------
class AmountRule(RuleBase):
    """A rule about one action's amount: which action, and the argument that holds the amount."""

    action: str
    amount_arg: str = "amount"


class ApprovalThresholdRule(AmountRule):
    kind: Literal["approval_threshold"]
    min_amount: Decimal = Field(ge=0)
    approvers: int = Field(ge=0, le=4)
    aggregate_hours: int = Field(default=0, ge=0, description="same-payee transfers that count as one")


class ActionCatalogueRule(RuleBase):
    """Lists the actions the platform knows; any other action gets this rule's decision."""

    kind: Literal["action_catalogue"]
    actions: dict[str, Decision] = Field(min_length=1)
    approvers: int = Field(
        default=1, ge=0, le=4, description="approvers for actions listed as REQUIRE_APPROVAL"
    )
    review_customer_text: CustomerText | None = Field(
        default=None, description="what the customer is told about an action listed as REQUIRE_APPROVAL"
    )

    @model_validator(mode="after")
    def _review_text(self) -> ActionCatalogueRule:
        if Decision.REQUIRE_APPROVAL in self.actions.values() and self.review_customer_text is None:
            raise ValueError("review_customer_text (en, zh) is required when an action needs approval")
        return self


class SufficientFundsRule(AmountRule):
    """An amount above the account's available balance (read from the ledger, never from the model)."""

    kind: Literal["sufficient_funds"]


class VulnerableClientRule(RuleBase):
    """An order from a client with a vulnerability signal (age, "can't afford to lose") goes to a person."""

    kind: Literal["vulnerable_client"]
    actions: list[str] = Field(min_length=1)
    signals_arg: str = "vulnerability_signals"
    approvers: int = Field(default=1, ge=1, le=4)


class KycGateRule(RuleBase):
    kind: Literal["kyc_gate"]
    statuses: list[Literal["verified", "pending", "expired", "failed"]] = Field(min_length=1)
    exempt_actions: list[str] = Field(default_factory=list, description="protective actions, e.g. block_card")


# --- suitability, questionnaire, allocation ----------------------------------------------------
class Product(_Strict):
    id: str
    name: str
    name_zh: str = ""
    rating: ProductRating
    product_type: str
    complex: bool = False
    aliases: list[str] = Field(default_factory=list, description="what customers call it, any language")
    asset_class: str = Field(default="", description="an AllocationRule asset id; empty for portfolios")
    ongoing_charges_pct: float = Field(default=0.0, ge=0, description="per year")
    entry_charge_pct: float = Field(default=0.0, ge=0)
    kid: str = Field(default="", description="knowledge-base document id of its key-information document")


class SuitabilityRule(RuleBase):
    kind: Literal["suitability"]
    max_rating: dict[RiskClass, ProductRating]
    products: list[Product] = Field(min_length=1)
    insistent_max_gap: int = Field(
        default=0, ge=0, le=4, description="rating steps above the profile an insistent client may buy"
    )
    insistent_approvers: int = Field(default=1, ge=1, le=4)
    insistent_customer_text: CustomerText | None = Field(
        default=None, description="what an insistent client is told: the warning and the review"
    )

    @model_validator(mode="after")
    def _complete(self) -> SuitabilityRule:
        missing = sorted({"C1", "C2", "C3", "C4", "C5"} - set(self.max_rating))
        if missing:
            raise ValueError(f"max_rating lacks {missing}")
        if self.insistent_max_gap and self.insistent_customer_text is None:
            raise ValueError("insistent_customer_text (en, zh) is required when insistent_max_gap > 0")
        return self


ProfileSection = Literal[
    "knowledge_experience",
    "financial_situation",
    "objectives_horizon",
    "risk_tolerance",
    "capacity_for_loss",
    "sustainability",
]
PROFILE_SECTIONS: tuple[ProfileSection, ...] = get_args(ProfileSection)


def _regexes(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regex {pattern!r}: {exc}") from exc
    return patterns


class QuestionOption(_Strict):
    id: str
    label: str
    label_zh: str = Field(min_length=1)
    points: int = Field(ge=0)
    matches: list[str] = Field(
        default_factory=list, description="regexes over the customer's free text (any language)"
    )
    cap: RiskClass | None = Field(default=None, description="knock-out: the class can be no higher")
    signals: list[Literal["vulnerable"]] = Field(default_factory=list)

    @field_validator("matches")
    @classmethod
    def _valid_matches(cls, value: list[str]) -> list[str]:
        return _regexes(value)


class NumericBand(_Strict):
    below: float | None = Field(description="upper bound, exclusive; null for the last band")
    option: str


class NumericAnswer(_Strict):
    """A number in free text ("about 5 years", "我82岁") picks the option whose band holds it."""

    pattern: str = Field(description="regex with one group: the number")
    bands: list[NumericBand] = Field(min_length=2)

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        return _regexes([value])[0]


class Question(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    section: ProfileSection
    text: str
    text_zh: str = Field(min_length=1)
    options: list[QuestionOption] = Field(min_length=2)
    numeric: NumericAnswer | None = None

    @model_validator(mode="after")
    def _options(self) -> Question:
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question {self.id}: duplicate option ids")
        if self.numeric and any(b.option not in ids for b in self.numeric.bands):
            raise ValueError(f"question {self.id}: a numeric band names an unknown option")
        return self


class QuestionnaireRule(RuleBase):
    kind: Literal["risk_questionnaire"]
    questionnaire_version: str = Field(min_length=1, description="stored with every profile it scores")
    valid_days: int = Field(gt=0, description="a profile expires this many days after it was completed")
    questions: list[Question] = Field(min_length=1)
    bands: dict[RiskClass, int] = Field(description="minimum total points for each class")

    @model_validator(mode="after")
    def _covers_assessment(self) -> QuestionnaireRule:
        missing = [s for s in PROFILE_SECTIONS if s not in {q.section for q in self.questions}]
        if missing:
            raise ValueError(f"the questionnaire asks nothing about {missing}")
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate question ids")
        return self


class AssetClass(_Strict):
    id: str
    name: str
    name_zh: str = Field(min_length=1)
    product_id: str
    series: dict[str, float] = Field(min_length=1, description="market-data series and their weights (sum 1)")
    equity_share: float = Field(ge=0, le=1, description="counts towards the class's equity cap")

    @model_validator(mode="after")
    def _weights(self) -> AssetClass:
        if abs(sum(self.series.values()) - 1) > 1e-9 or min(self.series.values()) < 0:
            raise ValueError(f"asset {self.id}: series weights must be >= 0 and sum to 1")
        return self


class ClassLimits(_Strict):
    max_volatility: float = Field(gt=0, le=1, description="annualised standard deviation of returns")
    max_cvar: float = Field(gt=0, le=1, description="monthly CVaR at cvar_level, as a share of the value")
    max_equity: float = Field(ge=0, le=1)


class AllocationRule(RuleBase):
    kind: Literal["allocation"]
    cvar_level: float = Field(default=0.95, gt=0.5, lt=1)
    assets: list[AssetClass] = Field(min_length=2)
    class_limits: dict[RiskClass, ClassLimits]
    max_weight: dict[ProductRating, float] = Field(description="concentration limit per product, by rating")
    rebalance_band: float = Field(
        default=0.05, gt=0, lt=1, description="a product's weight may drift this far from target"
    )
    disclosures: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> AllocationRule:
        missing = sorted({"C1", "C2", "C3", "C4", "C5"} - set(self.class_limits))
        if missing:
            raise ValueError(f"class_limits lacks {missing}")
        return self


# --- credit ------------------------------------------------------------------------------------
class ScorecardCutoffRule(RuleBase):
    kind: Literal["scorecard_cutoff"]
    model_version: str
    min_score: float = Field(description="below this the pre-assessment declines (decision)")
    review_below: float = Field(description="between min_score and this, a credit officer reviews")
    reason_codes_shown: int = Field(default=3, ge=1, le=5)


class AffordabilityRule(RuleBase):
    kind: Literal["affordability"]
    max_debt_to_income: float = Field(gt=0, lt=1)


# --- outgoing text ------------------------------------------------------------------------------
class ProhibitedClaimRule(RuleBase):
    kind: Literal["prohibited_claim"]
    judges_actions: ClassVar[bool] = False
    category: str
    patterns: list[str] = Field(min_length=1, description="regexes over normalised text, any language")
    negations: list[str] = Field(
        default_factory=list, description="regexes; a match right before voids a hit"
    )
    negation_inside_voids: bool = Field(
        default=False, description="also void a hit that contains a negation ('returns are not guaranteed')"
    )
    reported_speech_voids: bool = Field(
        default=False,
        description="void a hit reported as another's, in a warning ('adverts that promise ... are scams')",
    )


class DisclosureItem(_Strict):
    name: str
    patterns: list[str] = Field(min_length=1, description="regexes: any one shows the reply already says it")
    text: CustomerText = Field(
        description="the sentence the compliance step appends when the reply lacks it (en, zh); it must "
        "match one of the patterns"
    )


class RequiredDisclosureRule(RuleBase):
    kind: Literal["required_disclosure"]
    judges_actions: ClassVar[bool] = False
    product_type: str
    disclosures: list[DisclosureItem] = Field(min_length=1)


class PiiRule(RuleBase):
    kind: Literal["pii"]
    judges_actions: ClassVar[bool] = False
    detector: Literal[
        "iban",
        "payment_card",
        "cn_resident_id",
        "email",
        "secret",
        "passport",
        "card_security_code",
        "national_id",
        "third_party",
    ]
    allow: list[str] = Field(default_factory=list, description="values never treated as leaks")


Rule = Annotated[
    VelocityRule
    | StructuringRule
    | SplitPaymentsRule
    | RapidInOutRule
    | RoundTripRule
    | NewPayeeLargeRule
    | FanRule
    | RoundAmountRule
    | DormantReactivationRule
    | JurisdictionRule
    | LinkedAlertsRule
    | WatchlistRule
    | ApprovalThresholdRule
    | ActionCatalogueRule
    | SufficientFundsRule
    | KycGateRule
    | VulnerableClientRule
    | SuitabilityRule
    | QuestionnaireRule
    | AllocationRule
    | ScorecardCutoffRule
    | AffordabilityRule
    | ProhibitedClaimRule
    | RequiredDisclosureRule
    | PiiRule,
    Field(discriminator="kind"),
]


class DecisionReason(_Strict):
    """A reason an officer gives for a decision on a held action: a closed list, in the packs."""

    label: str = Field(min_length=3)
    applies_to: list[Literal["approve", "reject"]] = Field(min_length=1)
    note_required: bool = False
    customer_text: CustomerText | None = Field(
        default=None, description="what the customer is told when an action is rejected for this reason"
    )

    @model_validator(mode="after")
    def _rejections_say_something(self) -> DecisionReason:
        if "reject" in self.applies_to and self.customer_text is None:
            raise ValueError("customer_text (en, zh) is required for a reason that rejects")
        return self


class PolicyPack(_Strict):
    pack: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(min_length=1)
    description: str = ""
    rules: list[Rule] = Field(default_factory=list)
    decision_reasons: dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]+$")], DecisionReason] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _not_empty(self) -> PolicyPack:
        if not self.rules and not self.decision_reasons:
            raise ValueError("a pack needs rules or decision_reasons")
        return self
