"""Banking actions on the demo ledger: reading a customer's context, judging an action against the
policy packs, and executing approved actions.

Execution is exactly-once: the `executions` row, keyed by the action's idempotency key, is written in
the same transaction as the side effect, so a retried or concurrent execution finds the row and returns
the stored result instead of acting twice (invariant 3). In the same transaction, right before the side
effect, the action is judged again against today's ledger and packs: a verdict stricter than the one it
was confirmed or approved under stops it (invariant 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent import audit
from finagent.models import (
    Account,
    Action,
    Card,
    Customer,
    Execution,
    Holding,
    Payee,
    RiskProfile,
    Transfer,
    utcnow,
)
from finagent.telemetry import tool_entry
from policies.actions import ActionRequest, CustomerContext, PastTransfer
from policies.verdict import CustomerText, Decision, Verdict
from tools.policy_engine import PolicyEngine

HISTORY_DAYS = 90


_GENERIC_FAILURE = CustomerText(en="something went wrong on our side", zh="我方系统出现问题")
_NO_FUNDS = CustomerText(en="the amount is more than the available balance", zh="金额超过了可用余额")
_NOT_FOUND = CustomerText(en="we couldn't find that card or account", zh="未找到该卡或账户")


class ActionFailed(Exception):
    """The side effect cannot happen (no such card, insufficient funds); nothing was changed. The
    message is for staff; ``customer`` is what the customer may be told."""

    def __init__(self, message: str, *, customer: CustomerText = _GENERIC_FAILURE) -> None:
        super().__init__(message)
        self.customer = customer

    def customer_reason(self, language: str) -> str:
        return self.customer.get(language)


class ActionRefused(Exception):
    """The re-check before the side effect gave a stricter verdict than the one the action was confirmed
    or approved under; nothing was changed. ``verdict`` is the fresh one (staff side only)."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(f"re-check gave {verdict.decision.value}")


@dataclass
class CustomerSnapshot:
    context: CustomerContext
    history: list[PastTransfer]
    known_payees: list[Payee]
    accounts: list[Account]
    cards: list[Card]


def _aware(at: datetime, like: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=like.tzinfo)  # SQLite returns naive UTC


async def current_profile(session: AsyncSession, customer_id: str, now: datetime) -> RiskProfile | None:
    """The customer's investor profile of record: completed, not withdrawn or superseded, not expired."""
    rows = (
        await session.scalars(
            select(RiskProfile)
            .where(RiskProfile.customer_id == customer_id, RiskProfile.status == "active")
            .order_by(RiskProfile.id.desc())
        )
    ).all()
    return next((r for r in rows if r.expires_at is not None and _aware(r.expires_at, now) > now), None)


async def load_snapshot(session: AsyncSession, customer_id: str, now: datetime) -> CustomerSnapshot:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise ActionFailed(f"unknown customer {customer_id}")
    profile = await current_profile(session, customer_id, now)
    since = now - timedelta(days=HISTORY_DAYS)
    transfers = (
        await session.scalars(
            select(Transfer)
            .where(Transfer.customer_id == customer_id, Transfer.at >= since)
            .order_by(Transfer.at)
        )
    ).all()
    return CustomerSnapshot(
        context=CustomerContext(
            customer_id=customer.id,
            name=customer.name,
            country=customer.country,
            kyc_status=customer.kyc_status,  # type: ignore[arg-type]
            # Only a current questionnaire result counts: an expired or withdrawn profile is none.
            risk_profile=profile.risk_class if profile is not None else None,  # type: ignore[arg-type]
            account_opened=customer.account_opened,
            last_activity=customer.last_activity,
        ),
        history=[
            PastTransfer(
                at=_aware(t.at, now),
                amount=t.amount,
                currency=t.currency,
                direction=t.direction,  # type: ignore[arg-type]
                counterparty=t.counterparty,
                counterparty_country=t.counterparty_country,
            )
            for t in transfers
        ],
        known_payees=list(
            (await session.scalars(select(Payee).where(Payee.customer_id == customer_id))).all()
        ),
        accounts=list(
            (await session.scalars(select(Account).where(Account.customer_id == customer_id))).all()
        ),
        cards=list((await session.scalars(select(Card).where(Card.customer_id == customer_id))).all()),
    )


def action_request(snap: CustomerSnapshot, action: str, args: dict[str, Any], now: datetime) -> ActionRequest:
    """What the policy engine judges: the proposed arguments, and everything else from the ledger."""
    account = next((a for a in snap.accounts if a.id == args.get("account_id")), None)
    return ActionRequest(
        action=action,
        args=args,
        customer=snap.context,
        history=snap.history,
        known_payees=[p.name for p in snap.known_payees],
        available_balance=account.balance if account is not None else None,
        now=now,
    )


async def judge(
    session: AsyncSession, engine: PolicyEngine, customer_id: str, action: str, args: dict[str, Any]
) -> Verdict:
    """The policy verdict for an action, on the customer's ledger as it is now."""
    now = utcnow()
    snap = await load_snapshot(session, customer_id, now)
    return engine.check_action(action_request(snap, action, args, now))


async def _block_card(session: AsyncSession, action: Action) -> dict[str, Any]:
    card = await session.get(Card, action.args["card_id"])
    if card is None or card.customer_id != action.customer_id:
        raise ActionFailed("card not found", customer=_NOT_FOUND)
    previous = card.status
    card.status = "blocked"
    return {"card_id": card.id, "last4": card.last4, "previous_status": previous, "status": "blocked"}


async def _paying_account(session: AsyncSession, action: Action) -> tuple[Account, Decimal]:
    """The action's own account, locked, and the amount it pays."""
    account = await session.get(Account, action.args["account_id"], with_for_update=True)
    if account is None or account.customer_id != action.customer_id:
        raise ActionFailed("account not found", customer=_NOT_FOUND)
    return account, Decimal(str(action.args["amount"]))


def _debit(account: Account, amount: Decimal) -> None:
    if account.balance < amount:
        raise ActionFailed("insufficient funds", customer=_NO_FUNDS)
    account.balance -= amount


async def _transfer(session: AsyncSession, action: Action) -> dict[str, Any]:
    account, amount = await _paying_account(session, action)
    _debit(account, amount)
    session.add(
        Transfer(
            customer_id=action.customer_id,
            account_id=account.id,
            direction="out",
            amount=amount,
            currency=action.args.get("currency", "EUR"),
            counterparty=action.args["payee_name"],
            counterparty_country=action.args.get("payee_country", "DE"),
            at=utcnow(),
            action_id=action.id,
        )
    )
    if action.args.get("new_payee"):
        session.add(
            Payee(
                customer_id=action.customer_id,
                name=action.args["payee_name"],
                iban=action.args.get("payee_iban"),
                country=action.args.get("payee_country", "DE"),
            )
        )
    return {
        "amount": str(amount),
        "currency": account.currency,
        "payee": action.args["payee_name"],
        "new_balance": str(account.balance),
    }


async def positions(session: AsyncSession, customer_id: str) -> dict[str, Decimal]:
    """Invested amount per product (EUR, at cost), from the holdings ledger."""
    rows = (await session.scalars(select(Holding).where(Holding.customer_id == customer_id))).all()
    held: dict[str, Decimal] = {}
    for row in rows:
        held[row.product_id] = held.get(row.product_id, Decimal(0)) + row.amount
    return {k: v for k, v in held.items() if v != 0}


def _legs(action: Action) -> list[tuple[str, Decimal]]:
    return [(str(leg["product_id"]), Decimal(str(leg["amount"]))) for leg in action.args.get("legs") or []]


async def _buy_product(session: AsyncSession, action: Action) -> dict[str, Any]:
    """Debit the paying account and book each leg (one fund, or a model portfolio's funds)."""
    account, amount = await _paying_account(session, action)
    legs = _legs(action)
    if not legs or sum(a for _, a in legs) != amount:
        raise ActionFailed("order legs do not add up to the amount")
    _debit(account, amount)
    session.add(
        Transfer(
            customer_id=action.customer_id,
            account_id=account.id,
            direction="out",
            amount=amount,
            currency=account.currency,
            counterparty="Lakeshore securities account",
            counterparty_country="DE",
            at=utcnow(),
            action_id=action.id,
        )
    )
    for product_id, leg in legs:
        session.add(Holding(customer_id=action.customer_id, product_id=product_id, amount=leg,
                            portfolio_id=action.args.get("portfolio_id"), action_id=action.id))  # fmt: skip
    return {
        "product_id": action.args["product_id"],
        "amount": str(amount),
        "currency": account.currency,
        "legs": [{"product_id": p, "amount": str(a)} for p, a in legs],
        "new_balance": str(account.balance),
    }


async def _rebalance(session: AsyncSession, action: Action) -> dict[str, Any]:
    """Switch between funds: sales and purchases net to zero; a sale never exceeds the position."""
    legs = _legs(action)
    if not legs or sum(a for _, a in legs) != 0:
        raise ActionFailed("rebalancing legs do not net to zero")
    held = await positions(session, action.customer_id)
    for product_id, leg in legs:
        if leg < 0 and held.get(product_id, Decimal(0)) + leg < 0:
            raise ActionFailed(f"sale of {product_id} exceeds the position")
    for product_id, leg in legs:
        session.add(Holding(customer_id=action.customer_id, product_id=product_id, amount=leg,
                            portfolio_id=action.args.get("portfolio_id"), action_id=action.id))  # fmt: skip
    return {"legs": [{"product_id": p, "amount": str(a)} for p, a in legs]}


EXECUTORS = {
    "block_card": _block_card,
    "transfer": _transfer,
    "buy_product": _buy_product,
    "rebalance_portfolio": _rebalance,
}


async def _recheck(session: AsyncSession, engine: PolicyEngine, action: Action, actor: str) -> None:
    """Judge the action again; refuse it (recorded, nothing changed) if today's verdict is stricter."""
    fresh = await judge(session, engine, action.customer_id, action.type, action.args)
    earlier = Verdict.model_validate(action.verdict)
    if fresh.decision != Decision.BLOCK and not fresh.stricter_than(earlier):
        return
    action.status = "refused"
    action.recheck_verdict = fresh.model_dump(mode="json")
    await audit.record(
        session,
        actor=actor,
        kind="action.refused",
        subject=action.id,
        payload={"why": "the re-check before execution is stricter", "verdict": action.recheck_verdict},
    )
    await session.commit()
    raise ActionRefused(fresh)


@tool_entry("banking.execute_action")
async def execute_action(
    sessions: async_sessionmaker[AsyncSession],
    action_id: str,
    *,
    actor: str,
    engine: PolicyEngine,
    approvals: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the action's side effect once, after judging it again. Safe to call again: later calls
    return the first result (or raise ActionFailed for a refused action). ``approvals`` are the
    officers' decisions that released it, recorded with the execution."""
    async with sessions() as session:
        done = await session.get(Execution, action_id)
        if done is not None:
            return done.result
        action = await session.get(Action, action_id, with_for_update=True)
        if action is None:
            raise ActionFailed(f"unknown action {action_id}")
        if action.status == "refused" and action.recheck_verdict:  # refused before: say the same again
            raise ActionRefused(Verdict.model_validate(action.recheck_verdict))
        if action.status not in ("confirmed", "approved"):
            raise ActionFailed(f"action {action_id} is {action.status}, not releasable")
        executor = EXECUTORS.get(action.type)
        if executor is None:
            raise ActionFailed(f"no executor for action type {action.type!r}")
        await _recheck(session, engine, action, actor)
        result = await executor(session, action)
        session.add(Execution(idempotency_key=action_id, action_id=action_id, result=result))
        action.status = "executed"
        action.result = result
        action.executed_at = utcnow()
        await audit.record(
            session,
            actor=actor,
            kind="action.executed",
            subject=action_id,
            payload={"type": action.type, "result": result, "approvals": approvals or []},
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            existing = await session.get(Execution, action_id)
            if existing is None:
                raise
            return existing.result
        return result
