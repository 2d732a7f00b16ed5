"""Screening invariants, checked with generated histories and amounts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_fixtures import NOW, customer

from policies.actions import ActionRequest, PastTransfer
from policies.verdict import Decision
from tools.policy_engine import PolicyEngine

ORDER = {Decision.ALLOW: 0, Decision.REQUIRE_APPROVAL: 1, Decision.BLOCK: 2}
payees = st.sampled_from(["Landlord GmbH", "Max Weber", "Brand New Ltd", "Shop 24"])
amounts = st.decimals(min_value=Decimal("1"), max_value=Decimal("150000"), places=2)
history_items = st.builds(
    lambda h, a, d, c: PastTransfer(at=NOW - timedelta(hours=h), amount=a, direction=d, counterparty=c),
    st.floats(min_value=25, max_value=24 * 89),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("20000"), places=2),
    st.sampled_from(["in", "out"]),
    payees,
)
histories = st.lists(history_items, max_size=25)
common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def request(
    amount: Decimal, payee: str, history: list[PastTransfer], minutes_later: int = 0
) -> ActionRequest:
    return ActionRequest(
        action="transfer",
        args={"amount": str(amount), "payee_name": payee},
        customer=customer(),
        history=history,
        known_payees=["Landlord GmbH"],
        now=NOW + timedelta(minutes=minutes_later),
    )


@common
@given(amount=amounts, payee=payees, history=histories, parts=st.integers(min_value=2, max_value=5))
def test_splitting_a_transfer_never_lowers_its_risk(
    engine: PolicyEngine, amount: Decimal, payee: str, history: list[PastTransfer], parts: int
) -> None:
    whole = engine.check_action(request(amount, payee, history))
    share = (amount / parts).quantize(Decimal("0.01"))
    pieces = [share] * (parts - 1) + [amount - share * (parts - 1)]
    running = list(history)
    worst = Decision.ALLOW
    approvers = 0
    for i, piece in enumerate(p for p in pieces if p > 0):
        verdict = engine.check_action(request(piece, payee, running, minutes_later=i))
        worst = max(worst, verdict.decision, key=ORDER.__getitem__)
        approvers = max(approvers, verdict.approvers_required)
        running.append(
            PastTransfer(at=NOW + timedelta(minutes=i), amount=piece, direction="out", counterparty=payee)
        )
    assert ORDER[worst] >= ORDER[whole.decision]
    if worst == whole.decision == Decision.REQUIRE_APPROVAL:
        assert approvers >= whole.approvers_required


@common
@given(
    amount=amounts,
    extra=st.decimals(min_value=Decimal("0"), max_value=Decimal("50000"), places=2),
    history=histories,
)
def test_a_larger_amount_is_never_less_risky(
    engine: PolicyEngine, amount: Decimal, extra: Decimal, history: list[PastTransfer]
) -> None:
    low = engine.check_action(request(amount, "Landlord GmbH", history))
    high = engine.check_action(request(amount + extra, "Landlord GmbH", history))
    # Round-amount is informational (ALLOW), so only holds and blocks are compared.
    assert ORDER[high.decision] >= ORDER[low.decision]


@common
@given(amount=amounts, history=histories)
def test_verdict_is_deterministic_and_carries_version(
    engine: PolicyEngine, amount: Decimal, history: list
) -> None:
    a = engine.check_action(request(amount, "Max Weber", history))
    b = engine.check_action(request(amount, "Max Weber", list(reversed(history))))
    assert a == b
    assert a.policy_version == engine.version
    assert (a.approvers_required > 0) == (a.decision == Decision.REQUIRE_APPROVAL)


@common
@given(amount=amounts, history=histories, status=st.sampled_from(["pending", "expired", "failed"]))
def test_transfers_are_blocked_without_current_kyc(
    engine: PolicyEngine, amount: Decimal, history: list[PastTransfer], status: str
) -> None:
    req = request(amount, "Landlord GmbH", history)
    req = req.model_copy(update={"customer": customer(kyc_status=status)})
    assert engine.check_action(req).decision == Decision.BLOCK
