"""Batch re-screening of transfer history with the same monitoring rules, vectorised with numpy.

Used for the policy what-if at scale, periodic re-screening and the AMLSim check. Semantics
follow tools/screening.py with two documented differences: transfers with the same timestamp
are counted together (the batch sees the whole time step), and distinct-counterparty counts
treat a counterparty as new when it was not seen in the preceding window.
Rules that need data a bare ledger lacks (countries, KYC, dormancy) are left to real time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from policies.loader import PolicySet
from policies.schema import (
    FanRule,
    LinkedAlertsRule,
    NewPayeeLargeRule,
    RoundAmountRule,
    RoundTripRule,
    RuleBase,
    SplitPaymentsRule,
    StructuringRule,
    VelocityRule,
)
from policies.verdict import Decision

BATCH_KINDS = (
    VelocityRule,
    SplitPaymentsRule,
    RoundTripRule,
    FanRule,
    StructuringRule,
    NewPayeeLargeRule,
    RoundAmountRule,
)


@dataclass(frozen=True)
class Ledger:
    """Transfers as arrays: integer account ids, amounts (EUR), times in hours."""

    src: np.ndarray
    dst: np.ndarray
    amount: np.ndarray
    hours: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.src)
        if not (len(self.dst) == len(self.amount) == len(self.hours) == n):
            raise ValueError("ledger arrays differ in length")


@dataclass
class BatchResult:
    transfer_hits: dict[str, np.ndarray]  # rule id -> boolean mask over transfers
    account_alerts: dict[str, set[int]] = field(default_factory=dict)  # rule id -> accounts
    alerted_accounts: set[int] = field(default_factory=set)
    held_transfers: int = 0


def _window_count(
    keys: np.ndarray, hours: np.ndarray, window: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """For each row: rows with the same key and time in (t - window, t], itself included."""
    order = np.lexsort((hours, keys))
    k, h = keys[order], hours[order]
    scale = float(h.max() - h.min() + 2 * window + 1) if len(h) else 1.0
    composite = k.astype(np.float64) * scale + (h - h.min() if len(h) else h)
    hi = np.searchsorted(composite, composite, side="right")
    lo = np.searchsorted(composite, composite - window, side="right")
    if weights is None:
        counts = hi - lo
    else:
        cum = np.concatenate([[0.0], np.cumsum(weights[order])])
        counts = cum[hi] - cum[lo]
    out = np.empty_like(counts)
    out[order] = counts
    return out


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.astype(np.int64) * (int(max(a.max(initial=0), b.max(initial=0))) + 1) + b.astype(np.int64)


def _prev_same_key_gap(keys: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Hours since the previous row with the same key (inf for the first)."""
    order = np.lexsort((hours, keys))
    k, h = keys[order], hours[order]
    gap = np.full(len(k), np.inf)
    same = k[1:] == k[:-1]
    gap[1:][same] = h[1:][same] - h[:-1][same]
    out = np.empty_like(gap)
    out[order] = gap
    return out


def _rule_mask(rule: RuleBase, ledger: Ledger, pair: np.ndarray) -> np.ndarray:
    src, dst, amt, hrs = ledger.src, ledger.dst, ledger.amount, ledger.hours
    if isinstance(rule, VelocityRule):
        return _window_count(src, hrs, rule.window_hours) >= rule.max_count
    if isinstance(rule, SplitPaymentsRule):
        return _window_count(pair, hrs, rule.window_hours) >= rule.min_count
    if isinstance(rule, RoundTripRule):
        # Look up the reversed pair: did the payee pay this sender within the window before now?
        reverse = _pair_key(dst, src) if len(src) else pair
        keys = np.concatenate([pair, reverse])
        times = np.concatenate([hrs, hrs])
        marker = np.concatenate([np.ones(len(pair)), np.zeros(len(pair))])
        back = _window_count(keys, times, rule.window_days * 24.0, weights=marker)[len(pair) :]
        return (back > 0) & (amt >= float(rule.min_amount))
    if isinstance(rule, FanRule):
        hub, other = (dst, src) if rule.kind == "fan_in" else (src, dst)
        window = rule.window_days * 24.0
        fresh = (_prev_same_key_gap(_pair_key(hub, other), hrs) >= window).astype(np.float64)
        distinct = _window_count(hub, hrs, window, weights=fresh)
        total = _window_count(hub, hrs, window, weights=amt)
        return (distinct >= rule.min_counterparties) & (total >= float(rule.min_total))
    if isinstance(rule, StructuringRule):
        floor = float(rule.threshold * (1 - rule.band_pct / 100))
        near = ((amt >= floor) & (amt < float(rule.threshold))).astype(np.float64)
        return (near > 0) & (_window_count(src, hrs, rule.window_hours, weights=near) >= rule.min_count)
    if isinstance(rule, NewPayeeLargeRule):
        first = np.isinf(_prev_same_key_gap(pair, hrs))
        return first & (_window_count(pair, hrs, rule.aggregate_hours, weights=amt) >= float(rule.min_amount))
    if isinstance(rule, RoundAmountRule):
        unit = float(rule.unit)
        return (amt >= float(rule.min_amount)) & (np.mod(amt, unit) == 0)
    raise TypeError(f"rule kind {type(rule).__name__} is not screened in batch")


def screen_ledger(
    policies: PolicySet, ledger: Ledger, *, skip_kinds: tuple[type[RuleBase], ...] = ()
) -> BatchResult:
    """Flag transfers per rule, alert both parties of each held transfer, then link alerts."""
    pair = _pair_key(ledger.src, ledger.dst) if len(ledger.src) else ledger.src.astype(np.int64)
    hits: dict[str, np.ndarray] = {}
    result = BatchResult(transfer_hits=hits)
    held = np.zeros(len(ledger.src), dtype=bool)
    for _, rule in policies.rules.values():
        if not rule.enabled or not isinstance(rule, BATCH_KINDS) or isinstance(rule, skip_kinds):
            continue
        mask = _rule_mask(rule, ledger, pair)
        hits[rule.id] = mask
        if rule.decision != Decision.ALLOW:
            held |= mask
            accounts = set(np.unique(np.concatenate([ledger.src[mask], ledger.dst[mask]])).tolist())
            result.account_alerts[rule.id] = accounts
            result.alerted_accounts |= accounts
    result.held_transfers = int(held.sum())
    for rule in policies.of_kind(LinkedAlertsRule):
        if isinstance(rule, skip_kinds):
            continue
        linked = linked_accounts(ledger, result.alerted_accounts, rule.min_alerted_counterparties)
        result.account_alerts[rule.id] = linked
        result.alerted_accounts |= linked
    return result


def linked_accounts(ledger: Ledger, alerted: set[int], min_alerted: int) -> set[int]:
    """Accounts (not yet alerted) that traded with at least ``min_alerted`` distinct alerted accounts."""
    if not alerted or not len(ledger.src):
        return set()
    size = int(max(ledger.src.max(), ledger.dst.max())) + 1
    flag = np.zeros(size, dtype=bool)
    flag[list(alerted)] = True
    a = np.concatenate([ledger.src, ledger.dst])
    b = np.concatenate([ledger.dst, ledger.src])
    pairs = np.unique(_pair_key(a, b))
    left, right = pairs // size, pairs % size
    counts = np.bincount(left[flag[right]], minlength=size)
    return set(np.nonzero((counts >= min_alerted) & ~flag)[0].tolist())


def neutralise_amounts(policies: PolicySet) -> PolicySet:
    """A copy whose amount floors are zero: for simulated ledgers whose units are not euros."""
    rules = {}
    for rid, (pack, rule) in policies.rules.items():
        updates = {f: Decimal(0) for f in ("min_amount", "min_total", "min_incoming") if hasattr(rule, f)}
        rules[rid] = (pack, rule.model_copy(update=updates) if updates else rule)
    return PolicySet(packs=policies.packs, content_hash=policies.content_hash, rules=rules)
