"""Real-time transfer screening against the customer's 90-day history.

Each monitoring rule in the packs becomes one check here. Amount-based checks add up recent
transfers to the same payee, so splitting a transfer into parts never lowers its risk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from policies.actions import CustomerContext, PastTransfer, TransferArgs
from policies.loader import PolicySet
from policies.schema import (
    DormantReactivationRule,
    FanRule,
    JurisdictionRule,
    NewPayeeLargeRule,
    RapidInOutRule,
    RoundAmountRule,
    RoundTripRule,
    RuleBase,
    SplitPaymentsRule,
    StructuringRule,
    VelocityRule,
)
from policies.verdict import Reason


@lru_cache(maxsize=65536)
def party_key(name: str) -> str:
    """Counterparty identity for history matching: case, spacing and punctuation do not matter."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in name.casefold()).split())


def reason(rule: RuleBase, pack: str, evidence: dict[str, Any]) -> Reason:
    return Reason(
        rule_id=rule.id,
        reason_code=rule.reason_code,
        severity=rule.severity,
        explanation=rule.explanation,
        evidence={**evidence, "rule_version": rule.version, "pack": pack},
        decision=rule.decision,
        customer_text=rule.customer_text,
    )


@dataclass(frozen=True)
class TransferContext:
    """A proposed outgoing transfer and the history it is judged against."""

    transfer: TransferArgs
    customer: CustomerContext
    history: Sequence[PastTransfer]
    known_payees: frozenset[str]
    now: datetime

    @property
    def payee(self) -> str:
        return party_key(self.transfer.payee_name)

    def since(self, hours: float) -> list[PastTransfer]:
        start = self.now - timedelta(hours=hours)
        return [t for t in self.history if start < t.at <= self.now]

    def to_payee_within(self, hours: float) -> Decimal:
        """This transfer plus recent ones to the same payee: the amount a split cannot hide."""
        earlier = (
            t.amount
            for t in self.since(hours)
            if t.direction == "out" and party_key(t.counterparty) == self.payee
        )
        return self.transfer.amount + sum(earlier, Decimal(0))


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def check_velocity(rule: VelocityRule, ctx: TransferContext) -> dict[str, Any] | None:
    count = 1 + sum(1 for t in ctx.since(rule.window_hours) if t.direction == "out")
    return {"outgoing_count": count, "window_hours": rule.window_hours} if count >= rule.max_count else None


def check_structuring(rule: StructuringRule, ctx: TransferContext) -> dict[str, Any] | None:
    floor = rule.threshold * (1 - rule.band_pct / 100)
    amounts = [t.amount for t in ctx.since(rule.window_hours) if t.direction == "out"] + [ctx.transfer.amount]
    near = [a for a in amounts if floor <= a < rule.threshold]
    below = [a for a in amounts if a < rule.threshold]
    # Just-under amounts, or several sub-threshold parts that together cross it.
    split_total = len(below) >= 2 and sum(below, Decimal(0)) >= rule.threshold
    if (len(near) >= rule.min_count or split_total) and ctx.transfer.amount < rule.threshold:
        return {
            "near_threshold": [_money(a) for a in near],
            "sub_threshold_total": _money(sum(below, Decimal(0))),
            "threshold": _money(rule.threshold),
        }
    return None


def check_split_payments(rule: SplitPaymentsRule, ctx: TransferContext) -> dict[str, Any] | None:
    same = [
        t
        for t in ctx.since(rule.window_hours)
        if t.direction == "out" and party_key(t.counterparty) == ctx.payee
    ]
    count = len(same) + 1
    return (
        {"payments_to_payee": count, "window_hours": rule.window_hours} if count >= rule.min_count else None
    )


def check_rapid_in_out(rule: RapidInOutRule, ctx: TransferContext) -> dict[str, Any] | None:
    recent = ctx.since(rule.window_hours)
    incoming = sum((t.amount for t in recent if t.direction == "in"), Decimal(0))
    outgoing = ctx.transfer.amount + sum((t.amount for t in recent if t.direction == "out"), Decimal(0))
    if incoming >= rule.min_incoming and incoming > 0 and outgoing >= incoming * rule.min_outgoing_share:
        return {"incoming": _money(incoming), "outgoing": _money(outgoing), "window_hours": rule.window_hours}
    return None


def check_round_trip(rule: RoundTripRule, ctx: TransferContext) -> dict[str, Any] | None:
    back = [
        t
        for t in ctx.since(rule.window_days * 24)
        if t.direction == "in" and party_key(t.counterparty) == ctx.payee
    ]
    received = sum((t.amount for t in back), Decimal(0))
    if back and ctx.transfer.amount >= rule.min_amount:
        return {"received_from_payee": _money(received), "payments_received": len(back)}
    return None


def check_new_payee_large(rule: NewPayeeLargeRule, ctx: TransferContext) -> dict[str, Any] | None:
    if ctx.payee in ctx.known_payees:
        return None
    cutoff = ctx.now - timedelta(hours=rule.aggregate_hours)
    paid_before = any(
        t.direction == "out" and t.at <= cutoff and party_key(t.counterparty) == ctx.payee
        for t in ctx.history
    )
    total = ctx.to_payee_within(rule.aggregate_hours)
    if not paid_before and total >= rule.min_amount:
        return {"amount_to_new_payee": _money(total), "min_amount": _money(rule.min_amount)}
    return None


def check_fan(rule: FanRule, ctx: TransferContext) -> dict[str, Any] | None:
    direction = "in" if rule.kind == "fan_in" else "out"
    recent = [t for t in ctx.since(rule.window_days * 24) if t.direction == direction]
    parties = {party_key(t.counterparty) for t in recent}
    total = sum((t.amount for t in recent), Decimal(0))
    if direction == "out":
        parties.add(ctx.payee)
        total += ctx.transfer.amount
    if len(parties) >= rule.min_counterparties and total >= rule.min_total:
        return {"counterparties": len(parties), "total": _money(total), "window_days": rule.window_days}
    return None


def check_round_amount(rule: RoundAmountRule, ctx: TransferContext) -> dict[str, Any] | None:
    amount = ctx.transfer.amount
    if amount >= rule.min_amount and amount % rule.unit == 0:
        return {"amount": _money(amount), "unit": _money(rule.unit)}
    return None


def check_dormant(rule: DormantReactivationRule, ctx: TransferContext) -> dict[str, Any] | None:
    # Activity inside the aggregation window is the reactivation itself, so it does not count.
    cutoff = ctx.now - timedelta(hours=rule.aggregate_hours)
    dates = [t.at.date() for t in ctx.history if t.at <= cutoff]
    if ctx.customer.last_activity is not None and ctx.customer.last_activity <= cutoff.date():
        dates.append(ctx.customer.last_activity)
    last = max(dates, default=ctx.customer.account_opened)
    idle_days = (cutoff.date() - last).days
    outgoing = ctx.transfer.amount + sum(
        (t.amount for t in ctx.since(rule.aggregate_hours) if t.direction == "out"), Decimal(0)
    )
    if idle_days >= rule.dormant_days and outgoing >= rule.min_amount:
        return {"idle_days": idle_days, "last_activity": last.isoformat(), "amount": _money(outgoing)}
    return None


def check_jurisdiction(rule: JurisdictionRule, ctx: TransferContext) -> dict[str, Any] | None:
    country = ctx.transfer.payee_country.upper()
    return {"payee_country": country} if country in rule.countries else None


Check = Callable[[Any, TransferContext], dict[str, Any] | None]
CHECKS: dict[type[RuleBase], Check] = {
    VelocityRule: check_velocity,
    StructuringRule: check_structuring,
    SplitPaymentsRule: check_split_payments,
    RapidInOutRule: check_rapid_in_out,
    RoundTripRule: check_round_trip,
    NewPayeeLargeRule: check_new_payee_large,
    FanRule: check_fan,
    RoundAmountRule: check_round_amount,
    DormantReactivationRule: check_dormant,
    JurisdictionRule: check_jurisdiction,
}


def screen_transfer(policies: PolicySet, ctx: TransferContext) -> list[Reason]:
    """Run every enabled monitoring rule; each hit becomes a Reason with its evidence."""
    hits = []
    for pack, rule in policies.rules.values():
        check = CHECKS.get(type(rule))
        if check is None or not rule.enabled:
            continue
        evidence = check(rule, ctx)
        if evidence is not None:
            hits.append(reason(rule, pack, evidence))
    return hits
