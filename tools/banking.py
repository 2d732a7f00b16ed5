"""Banking actions on the demo ledger: reading a customer's context and executing approved actions.

Execution is exactly-once: the `executions` row, keyed by the action's idempotency key, is written in
the same transaction as the side effect, so a retried or concurrent execution finds the row and returns
the stored result instead of acting twice (invariant 3).
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
from finagent.models import Account, Action, Card, Customer, Execution, Payee, Transfer, utcnow
from policies.actions import CustomerContext, PastTransfer

HISTORY_DAYS = 90


class ActionFailed(Exception):
    """The side effect cannot happen (no such card, insufficient funds); nothing was changed."""


@dataclass
class CustomerSnapshot:
    context: CustomerContext
    history: list[PastTransfer]
    known_payees: list[Payee]
    accounts: list[Account]
    cards: list[Card]


async def load_snapshot(session: AsyncSession, customer_id: str, now: datetime) -> CustomerSnapshot:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise ActionFailed(f"unknown customer {customer_id}")
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
            risk_profile=customer.risk_profile,  # type: ignore[arg-type]
            account_opened=customer.account_opened,
            last_activity=customer.last_activity,
        ),
        history=[
            PastTransfer(
                at=t.at if t.at.tzinfo else t.at.replace(tzinfo=now.tzinfo),
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


async def _block_card(session: AsyncSession, action: Action) -> dict[str, Any]:
    card = await session.get(Card, action.args["card_id"])
    if card is None or card.customer_id != action.customer_id:
        raise ActionFailed("card not found")
    previous = card.status
    card.status = "blocked"
    return {"card_id": card.id, "last4": card.last4, "previous_status": previous, "status": "blocked"}


async def _transfer(session: AsyncSession, action: Action) -> dict[str, Any]:
    account = await session.get(Account, action.args["account_id"], with_for_update=True)
    if account is None or account.customer_id != action.customer_id:
        raise ActionFailed("account not found")
    amount = Decimal(str(action.args["amount"]))
    if account.balance < amount:
        raise ActionFailed("insufficient funds")
    account.balance -= amount
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


EXECUTORS = {"block_card": _block_card, "transfer": _transfer}


async def execute_action(
    sessions: async_sessionmaker[AsyncSession], action_id: str, *, actor: str
) -> dict[str, Any]:
    """Run the action's side effect once. Safe to call again: later calls return the first result."""
    async with sessions() as session:
        done = await session.get(Execution, action_id)
        if done is not None:
            return done.result
        action = await session.get(Action, action_id)
        if action is None:
            raise ActionFailed(f"unknown action {action_id}")
        if action.status not in ("confirmed", "approved"):
            raise ActionFailed(f"action {action_id} is {action.status}, not releasable")
        executor = EXECUTORS.get(action.type)
        if executor is None:
            raise ActionFailed(f"no executor for action type {action.type!r}")
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
            payload={"type": action.type, "result": result},
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
