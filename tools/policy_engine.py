"""The policy engine: turns a proposed action into a Verdict with reasons, evidence and version.

The model proposes an action; this decides. Checks run by action type: the action catalogue,
KYC gating, then the action's own rules (transfer screening, watch-list screening, approval
thresholds, suitability). The strictest decision wins and every hit is kept as a reason.

``get_engine(policy_dir)`` is cached per folder and hot-reloads: when a pack file changes, the
next call validates the new packs and swaps the engine. A pack that fails validation never
replaces a working one; the error is logged and the last good version keeps deciding.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from finagent.metrics import VERDICTS
from finagent.telemetry import tool_entry
from policies.actions import ActionRequest, TransferArgs
from policies.loader import PolicyLoadError, PolicySet, load_policy_set, pack_files
from policies.schema import (
    ActionCatalogueRule,
    AmountRule,
    ApprovalThresholdRule,
    KycGateRule,
    QuestionnaireRule,
    SufficientFundsRule,
    SuitabilityRule,
    VulnerableClientRule,
    WatchlistRule,
)
from policies.verdict import CustomerText, Decision, Reason, Verdict
from tools.sanctions import screen_name
from tools.screening import TransferContext, party_key, reason, screen_transfer

A = TypeVar("A", bound=AmountRule)
_ORDER = {Decision.ALLOW: 0, Decision.REQUIRE_APPROVAL: 1, Decision.BLOCK: 2}


# The engine's own refusal, for arguments no pack can judge; every other reason's text is in the packs.
_UNCHECKABLE = CustomerText(en="We couldn't process this request as given.", zh="无法按所给信息办理该请求。")


def _positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        return True  # judged as a purchase: an unreadable leg is never waved through


def invalid_arguments(action: str, errors: list[str]) -> Reason:
    """Arguments the rules cannot read are refused: the engine fails closed."""
    return Reason(
        rule_id="ENGINE-ARGS",
        reason_code="INVALID_ARGUMENTS",
        severity="high",
        explanation=f"The arguments of '{action}' could not be checked against policy, so it is not run.",
        evidence={"errors": errors},
        decision=Decision.BLOCK,
        customer_text=_UNCHECKABLE,
    )


@dataclass
class _Outcome:
    reasons: list[Reason]
    approvers: int = 0

    def add(self, item: Reason, approvers: int = 1) -> None:
        self.reasons.append(item)
        if item.decision == Decision.REQUIRE_APPROVAL:
            self.approvers = max(self.approvers, approvers)


class PolicyEngine:
    """Immutable once built: a hot reload builds a new engine, so a verdict never mixes versions."""

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self.version: str = policies.version

    # -- the public entry point ----------------------------------------------------------------
    @tool_entry("policy.check_action")
    def check_action(self, request: ActionRequest) -> Verdict:
        out = _Outcome(reasons=[])
        self._catalogue(request, out)
        self._kyc(request, out)
        handler = {
            "transfer": self._transfer,
            "buy_product": self._buy_product,
            "rebalance_portfolio": self._buy_product,
        }.get(request.action)
        if handler is not None:
            handler(request, out)
        self._vulnerable(request, out)
        self._thresholds(request, out)
        self._funds(request, out)
        decision = max((r.decision for r in out.reasons), key=_ORDER.__getitem__, default=Decision.ALLOW)
        VERDICTS.labels(request.action, decision.value).inc()
        return Verdict(
            decision=decision,
            reasons=out.reasons,
            policy_version=self.version,
            approvers_required=out.approvers if decision == Decision.REQUIRE_APPROVAL else 0,
        )

    # -- checks ---------------------------------------------------------------------------------
    def _rule(self, rule: Any) -> str:
        return self.policies.pack_of(rule.id)

    def _catalogue(self, request: ActionRequest, out: _Outcome) -> None:
        catalogues = self.policies.of_kind(ActionCatalogueRule)
        if not catalogues:  # no catalogue means nothing is known to be safe
            out.add(invalid_arguments(request.action, ["no action catalogue in the policy packs"]))
        for rule in catalogues:
            listed = rule.actions.get(request.action)
            if listed is None:
                out.add(
                    reason(rule, self._rule(rule), {"action": request.action, "known": sorted(rule.actions)})
                )
            elif listed != Decision.ALLOW:
                item = reason(
                    rule, self._rule(rule), {"action": request.action, "catalogue_decision": listed}
                )
                text = rule.review_customer_text if listed == Decision.REQUIRE_APPROVAL else None
                out.add(
                    item.model_copy(
                        update={
                            "decision": listed,
                            "reason_code": "ACTION_NEEDS_" + listed.value,
                            "customer_text": text or rule.customer_text,
                        }
                    ),
                    rule.approvers,
                )

    def _kyc(self, request: ActionRequest, out: _Outcome) -> None:
        for rule in self.policies.of_kind(KycGateRule):
            status = request.customer.kyc_status
            if status in rule.statuses and request.action not in rule.exempt_actions:
                out.add(reason(rule, self._rule(rule), {"kyc_status": status, "action": request.action}))

    def _transfer(self, request: ActionRequest, out: _Outcome) -> None:
        try:
            args = TransferArgs.model_validate(request.args)
        except ValidationError as exc:
            out.add(
                invalid_arguments(
                    request.action, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
                )
            )
            return
        ctx = TransferContext(
            transfer=args,
            customer=request.customer,
            history=request.history,
            known_payees=frozenset(party_key(p) for p in request.known_payees),
            now=request.now,
        )
        for hit in screen_transfer(self.policies, ctx):
            out.add(hit)
        for rule in self.policies.of_kind(WatchlistRule):
            match = screen_name(rule, args.payee_name)
            if match is not None:
                item = reason(rule, self._rule(rule), match.model_dump(mode="json", exclude={"decision"}))
                text = rule.customer_text if match.decision == Decision.BLOCK else rule.review_customer_text
                out.add(item.model_copy(update={"decision": match.decision, "customer_text": text}))

    def _bought(self, request: ActionRequest) -> list[str]:
        """The products an order buys: the one named, or a rebalance's purchase legs."""
        if request.action == "rebalance_portfolio":
            legs = request.args.get("legs") or []
            return [str(leg.get("product_id", "")) for leg in legs if _positive(leg.get("amount"))]
        return [str(request.args.get("product_id") or request.args.get("product_name") or "")]

    def _buy_product(self, request: ActionRequest, out: _Outcome) -> None:
        for rule in self.policies.of_kind(SuitabilityRule):
            for wanted in self._bought(request):
                self._suitable(rule, wanted, request, out)

    def _suitable(self, rule: SuitabilityRule, wanted: str, request: ActionRequest, out: _Outcome) -> None:
        product = next(
            (p for p in rule.products if wanted.casefold() in {p.id.casefold(), p.name.casefold()}), None
        )
        if product is None:
            out.add(invalid_arguments(request.action, [f"unknown product {wanted!r}"]))
            return
        profile = request.customer.risk_profile
        if profile is None:
            for q in self.policies.of_kind(QuestionnaireRule):
                out.add(reason(q, self._rule(q), {"product_id": product.id, "risk_profile": None}))
            return
        allowed = rule.max_rating[profile]
        if product.rating <= allowed:
            return
        evidence = {"risk_profile": profile, "max_rating": allowed, "product_id": product.id,
                    "rating": product.rating}  # fmt: skip
        item = reason(rule, self._rule(rule), evidence)
        gap = int(product.rating[1]) - int(allowed[1])
        insists = request.args.get("insistent") is True and rule.insistent_customer_text is not None
        if insists and gap <= rule.insistent_max_gap and not product.complex:
            # The warning was given and recorded; a person decides (the customer confirms first).
            item = item.model_copy(update={
                "decision": Decision.REQUIRE_APPROVAL, "reason_code": "INSISTENT_CLIENT",
                "customer_text": rule.insistent_customer_text,
                "evidence": evidence | {"insistent": True, "gap": gap}})  # fmt: skip
            out.add(item, rule.insistent_approvers)
        else:
            out.add(item)

    def _vulnerable(self, request: ActionRequest, out: _Outcome) -> None:
        for rule in self.policies.of_kind(VulnerableClientRule):
            signals = request.args.get(rule.signals_arg) or []
            if request.action in rule.actions and signals:
                out.add(reason(rule, self._rule(rule), {"signals": list(signals)}), rule.approvers)

    def _amounts(self, kind: type[A], request: ActionRequest, out: _Outcome) -> Iterator[tuple[A, Decimal]]:
        """The rules of this kind for this action, each with the amount it reads from the arguments;
        an amount that is not a number is refused."""
        for rule in self.policies.of_kind(kind):
            if rule.action != request.action or rule.amount_arg not in request.args:
                continue
            try:
                yield rule, Decimal(str(request.args[rule.amount_arg]))
            except (InvalidOperation, ValueError):
                out.add(invalid_arguments(request.action, [f"{rule.amount_arg} is not a number"]))

    def _funds(self, request: ActionRequest, out: _Outcome) -> None:
        if request.available_balance is None:
            return
        for rule, amount in self._amounts(SufficientFundsRule, request, out):
            if amount > request.available_balance:
                evidence = {"amount": f"{amount:.2f}", "available": f"{request.available_balance:.2f}"}
                out.add(reason(rule, self._rule(rule), evidence))

    def _thresholds(self, request: ActionRequest, out: _Outcome) -> None:
        for rule, amount in self._amounts(ApprovalThresholdRule, request, out):
            counted = amount
            if rule.aggregate_hours and request.action == "transfer":
                payee = party_key(str(request.args.get("payee_name", "")))
                ctx_start = request.now.timestamp() - rule.aggregate_hours * 3600
                counted += sum(
                    (
                        t.amount
                        for t in request.history
                        if t.direction == "out"
                        and ctx_start < t.at.timestamp() <= request.now.timestamp()
                        and party_key(t.counterparty) == payee
                    ),
                    Decimal(0),
                )
            if counted >= rule.min_amount:
                evidence = {"amount": f"{amount:.2f}", "counted_amount": f"{counted:.2f}",
                            "min_amount": f"{rule.min_amount:.2f}", "approvers": rule.approvers}  # fmt: skip
                out.add(reason(rule, self._rule(rule), evidence), rule.approvers)


log = logging.getLogger(__name__)
_lock = threading.Lock()
_engines: dict[Path, tuple[tuple[tuple[str, int, int], ...], PolicyEngine]] = {}


def _fingerprint(policy_dir: Path) -> tuple[tuple[str, int, int], ...]:
    stats = []
    for path in pack_files(policy_dir):
        st = path.stat()
        stats.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(stats)


def get_engine(policy_dir: Path) -> PolicyEngine:
    """The engine for ``policy_dir``; rebuilt when any pack file is added, removed or edited.

    Raises PolicyLoadError only when there is no earlier good version to fall back on.
    """
    key = policy_dir.resolve()
    fingerprint = _fingerprint(key)
    cached = _engines.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        cached = _engines.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        try:
            engine = PolicyEngine(load_policy_set(key))
        except PolicyLoadError:
            if cached is None:
                raise
            log.error("policy reload failed; keeping %s", cached[1].version, exc_info=True)
            _engines[key] = (fingerprint, cached[1])  # do not re-parse the broken files on every call
            return cached[1]
        if cached is not None:
            log.info("policy packs reloaded: %s -> %s", cached[1].version, engine.version)
        _engines[key] = (fingerprint, engine)
        return engine
