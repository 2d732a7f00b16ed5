"""Screening of a stream of ledger transfers (account to account) with the monitoring pack's rules.

The same rules as tools/batch_screening.py (the pack's thresholds, the same windows), applied to one
transfer at a time against the recent transfers of its two accounts: what a real-time monitor sees.
Rules need only what a transfer record carries (accounts, amount, time, and the payee's country when
given). Rules that need the customer's profile (dormancy) or other alerts (linked alerts) are left to
the conversation-time screening and the batch job.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from policies.loader import PolicySet
from policies.schema import (
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
from policies.verdict import Decision

STREAM_KINDS = (
    VelocityRule,
    StructuringRule,
    SplitPaymentsRule,
    RapidInOutRule,
    RoundTripRule,
    NewPayeeLargeRule,
    FanRule,
    RoundAmountRule,
    JurisdictionRule,
)
EURO_DEFINED = (StructuringRule, NewPayeeLargeRule, RoundAmountRule)
# A hit's weight in the alert score: 1 - prod(1 - w) over the rules hit, so more and graver hits score higher.
SEVERITY_WEIGHT = {"low": 0.1, "medium": 0.4, "high": 0.6, "critical": 0.9}
HOUR = 3600.0


class TransferFormatError(ValueError):
    """A transfer record (a stream message or a CSV row) that cannot be read; says where and why."""


@dataclass(frozen=True, slots=True)
class LedgerTransfer:
    tx_id: str
    src: str
    dst: str
    amount: float
    at: float  # the transfer's own time, epoch seconds
    country: str = ""  # the payee's country, when known
    enqueued: float | None = None  # when it entered the stream, epoch seconds

    def as_fields(self) -> dict[str, str]:
        fields = {
            "tx_id": self.tx_id,
            "src": self.src,
            "dst": self.dst,
            "amount": repr(self.amount),
            "at": repr(self.at),
        }
        if self.country:
            fields["country"] = self.country
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> LedgerTransfer:
        missing = [k for k in ("tx_id", "src", "dst", "amount", "at") if not fields.get(k)]
        if missing:
            raise TransferFormatError(f"missing field(s): {', '.join(missing)}")
        try:
            amount, at = float(fields["amount"]), float(fields["at"])
            enq = float(fields["enq"]) if fields.get("enq") else None
        except ValueError as exc:
            raise TransferFormatError(f"not a number: {exc}") from None
        if not (math.isfinite(amount) and amount > 0 and math.isfinite(at)):
            raise TransferFormatError(f"amount must be a positive number, at a finite time (got {fields})")
        return cls(
            fields["tx_id"], fields["src"], fields["dst"], amount, at, fields.get("country", "").upper(), enq
        )


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a past transfer as an account saw it."""

    tx_id: str
    direction: str  # in | out
    counterparty: str
    amount: float
    at: float

    def member(self) -> str:
        return f"{self.tx_id}\x1f{self.direction}\x1f{self.counterparty}\x1f{self.amount!r}"

    @classmethod
    def from_member(cls, member: str, at: float) -> Leg:
        tx_id, direction, counterparty, amount = member.split("\x1f")
        return cls(tx_id, direction, counterparty, float(amount), at)


def legs_of(tx: LedgerTransfer) -> tuple[Leg, Leg]:
    """The transfer as its payer (out) and its payee (in) record it."""
    return (Leg(tx.tx_id, "out", tx.dst, tx.amount, tx.at), Leg(tx.tx_id, "in", tx.src, tx.amount, tx.at))


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    reason_code: str
    severity: str
    decision: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class StreamRules:
    """The enabled stream-screenable rules of a policy set, and how far back they look."""

    rules: tuple[RuleBase, ...]
    policy_version: str

    @classmethod
    def from_policies(cls, policies: PolicySet, *, simulated_amounts: bool = False) -> StreamRules:
        """``simulated_amounts``: for ledgers whose amounts are not euros (AMLSim), as in bench/policy.py:
        floors become zero and rules defined by a euro amount (structuring, a large amount to a new
        payee, round amounts) are left out."""
        rules = tuple(r for _, r in policies.rules.values() if r.enabled and isinstance(r, STREAM_KINDS))
        if simulated_amounts:
            floors = ("min_amount", "min_total", "min_incoming")
            rules = tuple(
                r.model_copy(update={f: Decimal(0) for f in floors if hasattr(r, f)})
                for r in rules
                if not isinstance(r, EURO_DEFINED)
            )
        return cls(rules, policies.version + (" simulated-amounts" if simulated_amounts else ""))

    @property
    def retention_s(self) -> float:
        """The longest window any rule looks back over."""
        spans = [24 * HOUR]
        for r in self.rules:
            for name in ("window_hours", "aggregate_hours"):
                if hasattr(r, name):
                    spans.append(float(getattr(r, name)) * HOUR)
            if hasattr(r, "window_days"):
                spans.append(float(r.window_days) * 24 * HOUR)
        return max(spans)


def _within(legs: Sequence[Leg], tx: LedgerTransfer, seconds: float, direction: str) -> list[Leg]:
    start = tx.at - seconds
    return [g for g in legs if g.direction == direction and start < g.at <= tx.at and g.tx_id != tx.tx_id]


def _check(
    rule: RuleBase, tx: LedgerTransfer, src: Sequence[Leg], dst: Sequence[Leg]
) -> dict[str, Any] | None:
    if isinstance(rule, VelocityRule):
        count = 1 + len(_within(src, tx, rule.window_hours * HOUR, "out"))
        return (
            {"outgoing_count": count, "window_hours": rule.window_hours} if count >= rule.max_count else None
        )
    if isinstance(rule, SplitPaymentsRule):
        same = [g for g in _within(src, tx, rule.window_hours * HOUR, "out") if g.counterparty == tx.dst]
        count = 1 + len(same)
        return (
            {"payments_to_payee": count, "window_hours": rule.window_hours}
            if count >= rule.min_count
            else None
        )
    if isinstance(rule, RoundTripRule):
        back = [g for g in _within(src, tx, rule.window_days * 24 * HOUR, "in") if g.counterparty == tx.dst]
        if back and tx.amount >= float(rule.min_amount):
            return {
                "received_from_payee": round(sum(g.amount for g in back), 2),
                "payments_received": len(back),
            }
        return None
    if isinstance(rule, FanRule):
        window = rule.window_days * 24 * HOUR
        if rule.kind == "fan_in":
            recent = _within(dst, tx, window, "in")
            parties = {g.counterparty for g in recent} | {tx.src}
        else:
            recent = _within(src, tx, window, "out")
            parties = {g.counterparty for g in recent} | {tx.dst}
        total = tx.amount + sum(g.amount for g in recent)
        if len(parties) >= rule.min_counterparties and total >= float(rule.min_total):
            return {
                "counterparties": len(parties),
                "total": round(total, 2),
                "window_days": rule.window_days,
                "side": "payee" if rule.kind == "fan_in" else "payer",
            }
        return None
    if isinstance(rule, StructuringRule):
        threshold = float(rule.threshold)
        floor = threshold * (1 - float(rule.band_pct) / 100)
        amounts = [g.amount for g in _within(src, tx, rule.window_hours * HOUR, "out")] + [tx.amount]
        near = [a for a in amounts if floor <= a < threshold]
        below = [a for a in amounts if a < threshold]
        split_total = len(below) >= 2 and sum(below) >= threshold
        if (len(near) >= rule.min_count or split_total) and tx.amount < threshold:
            return {
                "near_threshold": [round(a, 2) for a in near],
                "sub_threshold_total": round(sum(below), 2),
                "threshold": threshold,
            }
        return None
    if isinstance(rule, RapidInOutRule):
        window = rule.window_hours * HOUR
        incoming = sum(g.amount for g in _within(src, tx, window, "in"))
        outgoing = tx.amount + sum(g.amount for g in _within(src, tx, window, "out"))
        if (
            incoming >= float(rule.min_incoming)
            and incoming > 0
            and outgoing >= incoming * float(rule.min_outgoing_share)
        ):
            return {
                "incoming": round(incoming, 2),
                "outgoing": round(outgoing, 2),
                "window_hours": rule.window_hours,
            }
        return None
    if isinstance(rule, NewPayeeLargeRule):
        cutoff = tx.at - rule.aggregate_hours * HOUR
        to_payee = [
            g for g in src if g.direction == "out" and g.counterparty == tx.dst and g.tx_id != tx.tx_id
        ]
        if any(g.at <= cutoff for g in to_payee):
            return None
        total = tx.amount + sum(g.amount for g in to_payee if cutoff < g.at <= tx.at)
        return {"amount_to_new_payee": round(total, 2)} if total >= float(rule.min_amount) else None
    if isinstance(rule, RoundAmountRule):
        unit = float(rule.unit)
        ok = tx.amount >= float(rule.min_amount) and math.fmod(tx.amount, unit) == 0
        return {"amount": tx.amount, "unit": unit} if ok else None
    if isinstance(rule, JurisdictionRule):
        return {"payee_country": tx.country} if tx.country and tx.country in rule.countries else None
    return None


def screen(rules: StreamRules, tx: LedgerTransfer, src: Sequence[Leg], dst: Sequence[Leg]) -> list[RuleHit]:
    """Every rule's hit for ``tx``, given the payer's (``src``) and payee's (``dst``) recent legs."""
    hits = []
    for rule in rules.rules:
        evidence = _check(rule, tx, src, dst)
        if evidence is not None:
            hits.append(RuleHit(rule.id, rule.reason_code, rule.severity, str(rule.decision), evidence))
    return hits


def alerting(hits: Sequence[RuleHit]) -> bool:
    """Informational rules (decision ALLOW) are evidence only; anything stricter raises an alert."""
    return any(h.decision != Decision.ALLOW for h in hits)


def score(hits: Sequence[RuleHit]) -> float:
    keep = 1.0
    for h in hits:
        keep *= 1 - SEVERITY_WEIGHT.get(h.severity, 0.4)
    return round(1 - keep, 4)


# --- reading transfers from CSV (`finagent monitor replay`) ---------------------------------------------

AMLSIM_COLUMNS = ("sourceNodeId", "targetNodeId", "value", "time")
COLUMN_NAMES = {
    "tx_id": ("tx_id", "transaction_id", "id"),
    "src": ("src", "source", "from_account", "payer", "sender"),
    "dst": ("dst", "target", "to_account", "payee", "receiver"),
    "amount": ("amount", "value"),
    "at": ("at", "timestamp", "time", "date"),
    "country": ("country", "payee_country"),
}
AMLSIM_ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)


def _parse_time(raw: str, line: int) -> float:
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise TransferFormatError(
            f"line {line}: time {raw!r} is neither epoch seconds nor ISO 8601"
        ) from None
    if when.tzinfo is None:
        raise TransferFormatError(f"line {line}: time {raw!r} has no time zone (add Z or +00:00)")
    return when.timestamp()


def read_transfers(path: Path, *, origin: datetime = AMLSIM_ORIGIN) -> list[LedgerTransfer]:
    """Every transfer in a CSV, checked in full before any is used (a bad file enqueues nothing).

    AMLSim's ``transactions.csv`` (sourceNodeId,targetNodeId,value,time with time a day step counted
    from ``origin``) or any CSV with columns for payer, payee, amount and time (see COLUMN_NAMES;
    time as epoch seconds or ISO 8601 with a zone). Without an id column, ids are the file's content
    hash and the line number, so replaying the same file twice creates no new alerts.
    """
    if not path.is_file():
        raise TransferFormatError(f"{path}: no such file")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:12]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TransferFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise TransferFormatError(f"{path}: empty file, expected a header row")
    amlsim = all(c in header for c in AMLSIM_COLUMNS)
    columns = dict(zip(("src", "dst", "amount", "at"), AMLSIM_COLUMNS, strict=True)) if amlsim else {}
    if not amlsim:
        lower = {h.lower(): h for h in header}
        for field, names in COLUMN_NAMES.items():
            found = next((lower[n] for n in names if n in lower), None)
            if found:
                columns[field] = found
        missing = [f for f in ("src", "dst", "amount", "at") if f not in columns]
        if missing:
            raise TransferFormatError(
                f"{path}: no column for {', '.join(missing)} (header: {', '.join(header)}); "
                f"expected AMLSim's {','.join(AMLSIM_COLUMNS)} or columns named like "
                + "; ".join(f"{f}: {'/'.join(COLUMN_NAMES[f])}" for f in ("src", "dst", "amount", "at"))
            )
    return list(_rows(reader, columns, amlsim, origin, digest, path))


def _rows(
    reader: csv.DictReader[str],
    columns: dict[str, str],
    amlsim: bool,
    origin: datetime,
    digest: str,
    path: Path,
) -> Iterator[LedgerTransfer]:
    seen: set[str] = set()
    for index, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            raise TransferFormatError(f"{path} line {index}: more values than header columns")
        values = {f: row.get(c, "") for f, c in columns.items()}
        empty = [f for f in ("src", "dst", "amount", "at") if not values[f]]
        if empty:
            raise TransferFormatError(f"{path} line {index}: empty {', '.join(empty)}")
        try:
            amount = Decimal(values["amount"])
        except InvalidOperation:
            raise TransferFormatError(
                f"{path} line {index}: amount {values['amount']!r} is not a number"
            ) from None
        if not amount.is_finite() or amount <= 0:
            raise TransferFormatError(
                f"{path} line {index}: amount must be positive (got {values['amount']})"
            )
        if amlsim:
            try:
                at = (origin + timedelta(days=float(values["at"]))).timestamp()
            except ValueError:
                raise TransferFormatError(
                    f"{path} line {index}: time step {values['at']!r} is not a number"
                ) from None
        else:
            at = _parse_time(values["at"], index)
        tx_id = values.get("tx_id") or f"{digest}-{index}"
        if tx_id in seen:
            raise TransferFormatError(f"{path} line {index}: transaction id {tx_id!r} appears twice")
        seen.add(tx_id)
        yield LedgerTransfer(
            tx_id, values["src"], values["dst"], float(amount), at, values.get("country", "").upper()
        )
