"""The compliance queue: claim, decide, and resume the held run once enough officers have decided.

Only a named officer releases an action (invariant 2): every decision, approve or reject, is recorded
with identity, a reason code from the packs' closed list and a note where the code needs one; an
officer cannot decide the same item twice; items that need two approvers need two different officers,
and all their decisions travel into the resumed run and the audit trail. The status change that
releases an action is a conditional UPDATE, so concurrent approvals resume the run once, and
execution is idempotent behind it (invariant 3).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import select, update

from app.conversations import InputError, NotFound, action_staff_view, store_outcome
from app.observability import turn
from app.runtime import AppRuntime
from finagent import audit
from finagent.auth import Principal
from finagent.models import Action, ApprovalDecision, ApprovalItem, Customer, Message, utcnow
from policies.schema import DecisionReason
from tools.policy_engine import get_engine


def decision_reasons(rt: AppRuntime) -> dict[str, DecisionReason]:
    """The closed list of decision reasons, from the policy packs (hot-reloaded with them)."""
    return get_engine(rt.settings.policy_dir).policies.decision_reasons


def _check_reason(rt: AppRuntime, decision: str, reason_code: str, note: str) -> DecisionReason:
    reasons = {c: r for c, r in decision_reasons(rt).items() if decision in r.applies_to}
    reason = reasons.get(reason_code)
    if reason is None:
        raise InputError(f"to {decision}, give a reason code, one of {', '.join(sorted(reasons))}")
    if reason.note_required and not note.strip():
        raise InputError(f"reason {reason_code} needs a note that explains the decision")
    return reason


def _decision_view(d: ApprovalDecision) -> dict[str, Any]:
    return {
        "approver": d.approver,
        "decision": d.decision,
        "reason_code": d.reason_code,
        "note": d.note,
        "at": d.at.isoformat(),
    }


class ApprovalConflict(Exception):
    """The item's state forbids this step (claimed by another officer, already decided, ...)."""


class ApprovalForbidden(Exception):
    """This officer may not take this step (e.g. approving twice)."""


async def _decisions(session: Any, item_id: int) -> list[ApprovalDecision]:
    return list(
        (
            await session.scalars(
                select(ApprovalDecision)
                .where(ApprovalDecision.item_id == item_id)
                .order_by(ApprovalDecision.id)
            )
        ).all()
    )


@dataclass
class _Related:
    """What an item's public view shows besides the item, loaded for many items in three queries."""

    actions: dict[str, Action]
    customers: dict[str, Customer]
    decisions: dict[int, list[ApprovalDecision]]


async def _related(session: Any, items: list[ApprovalItem]) -> _Related:
    action_ids = {i.action_id for i in items}
    customer_ids = {i.customer_id for i in items}
    decisions: dict[int, list[ApprovalDecision]] = defaultdict(list)
    if not items:
        return _Related({}, {}, decisions)
    query = (
        select(ApprovalDecision)
        .where(ApprovalDecision.item_id.in_([i.id for i in items]))
        .order_by(ApprovalDecision.id)
    )
    for decision in (await session.scalars(query)).all():
        decisions[decision.item_id].append(decision)
    actions = (await session.scalars(select(Action).where(Action.id.in_(action_ids)))).all()
    customers = (await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))).all()
    return _Related({a.id: a for a in actions}, {c.id: c for c in customers}, decisions)


async def _public(
    session: Any, item: ApprovalItem, *, detail: bool = False, related: _Related | None = None
) -> dict[str, Any]:
    related = related or await _related(session, [item])
    action = related.actions.get(item.action_id)
    customer = related.customers.get(item.customer_id)
    out: dict[str, Any] = {
        "id": item.id,
        "thread_id": item.thread_id,
        "customer_id": item.customer_id,
        "customer_name": customer.name if customer else "",
        "action": action_staff_view(action),
        "rationale": action.rationale if action else "",
        "status": item.status,
        "approvals_needed": item.approvals_needed,
        "claimed_by": item.claimed_by,
        "decisions": [_decision_view(d) for d in related.decisions.get(item.id, [])],
        "created_at": item.created_at.isoformat(),
    }
    if detail:
        msgs = (
            await session.scalars(
                select(Message).where(Message.thread_id == item.thread_id).order_by(Message.id)
            )
        ).all()
        out["conversation"] = [
            {"role": m.role, "content": m.content, "status": m.status, "created_at": m.created_at.isoformat()}
            for m in msgs
        ]
        out["customer_profile"] = (
            None
            if customer is None
            else {
                "customer_id": customer.id,
                "name": customer.name,
                "country": customer.country,
                "kyc_status": customer.kyc_status,
                "risk_profile": customer.risk_profile,
                "account_opened": customer.account_opened.isoformat(),
                "last_activity": customer.last_activity.isoformat() if customer.last_activity else None,
            }
        )
    return out


async def list_items(rt: AppRuntime, status: str) -> list[dict[str, Any]]:
    async with rt.sessions() as session:
        q = select(ApprovalItem).order_by(ApprovalItem.id.desc()).limit(200)
        if status != "all":
            q = q.where(ApprovalItem.status == status)
        items = list((await session.scalars(q)).all())
        related = await _related(session, items)  # not three queries per item
        return [await _public(session, item, related=related) for item in items]


async def get_item(rt: AppRuntime, item_id: int) -> dict[str, Any]:
    async with rt.sessions() as session:
        item = await session.get(ApprovalItem, item_id)
        if item is None:
            raise NotFound("no such approval item")
        return await _public(session, item, detail=True)


async def claim(rt: AppRuntime, officer: Principal, item_id: int, *, release: bool = False) -> dict[str, Any]:
    async with rt.sessions() as session:
        item = await session.get(ApprovalItem, item_id, with_for_update=True)
        if item is None:
            raise NotFound("no such approval item")
        if item.status != "pending":
            raise ApprovalConflict(f"item is {item.status}")
        if item.claimed_by not in (None, officer.subject):
            raise ApprovalConflict(f"item is claimed by {item.claimed_by}")
        if release:
            item.claimed_by, item.claimed_at = None, None
        else:
            item.claimed_by, item.claimed_at = officer.subject, utcnow()
        await audit.record(
            session,
            actor=f"officer:{officer.subject}",
            kind="approval.released" if release else "approval.claimed",
            subject=item.action_id,
            payload={"item_id": item.id},
        )
        await session.commit()
        return await _public(session, item)


async def decide(
    rt: AppRuntime, officer: Principal, item_id: int, *, decision: str, reason_code: str, note: str
) -> dict[str, Any]:
    """Record one officer's decision, with a reason code from the packs' closed list (and a note where
    the code needs one). Enough approvals, or one rejection, resume the held run with every decision."""
    if decision not in ("approve", "reject"):
        raise InputError("decision must be 'approve' or 'reject'")
    reason = _check_reason(rt, decision, reason_code, note)
    async with rt.lock(f"approval:{item_id}"):
        resume: dict[str, Any] | None = None
        async with rt.sessions() as session:
            item = await session.get(ApprovalItem, item_id, with_for_update=True)
            if item is None:
                raise NotFound("no such approval item")
            if item.status != "pending":
                raise ApprovalConflict(f"item is already {item.status}")
            if item.claimed_by != officer.subject:
                raise ApprovalConflict(
                    "claim the item before deciding"
                    if item.claimed_by is None
                    else f"item is claimed by {item.claimed_by}"
                )
            earlier = await _decisions(session, item.id)
            if any(d.approver == officer.subject for d in earlier):
                raise ApprovalForbidden("you have already decided this item; another officer must take it")
            mine = ApprovalDecision(
                item_id=item.id,
                approver=officer.subject,
                decision=decision,
                reason_code=reason_code,
                note=note,
            )
            session.add(mine)
            await session.flush()
            decisions = [*earlier, mine]
            approvals = sum(1 for d in decisions if d.decision == "approve")
            final = (
                "rejected"
                if decision == "reject"
                else ("approved" if approvals >= item.approvals_needed else None)
            )
            await audit.record(
                session,
                actor=f"officer:{officer.subject}",
                kind=f"approval.{decision}",
                subject=item.action_id,
                payload={
                    "item_id": item.id,
                    "reason_code": reason_code,
                    "note": note,
                    "outcome": final or "waiting for another approver",
                    "decisions": [_decision_view(d) for d in decisions],
                },
            )
            if final is None:
                item.claimed_by, item.claimed_at = None, None  # free it for the next approver
            else:
                won = await session.execute(
                    update(ApprovalItem)
                    .where(ApprovalItem.id == item.id, ApprovalItem.status == "pending")
                    .values(status=final, decided_at=utcnow(), claimed_by=None)
                )
                if won.rowcount != 1:  # type: ignore[attr-defined]
                    await session.rollback()
                    raise ApprovalConflict("item was decided concurrently")
                await session.execute(update(Action).where(Action.id == item.action_id).values(status=final))
                resume = _resume_payload(final, decisions, reason)
            await session.commit()
            action = await session.get(Action, item.action_id)
        if resume is not None and action is not None:
            await resume_run(rt, action, resume)
        return await get_item(rt, item_id)


def _resume_payload(final: str, decisions: list[ApprovalDecision], reason: DecisionReason) -> dict[str, Any]:
    """What the held run continues with: the outcome, and every officer's identity and reason."""
    last = decisions[-1]
    return {
        "decision": "approve" if final == "approved" else "reject",
        "reason_code": last.reason_code,
        "customer_text": reason.customer_text.model_dump() if reason.customer_text else None,
        "decisions": [_decision_view(d) for d in decisions],
    }


async def resume_run(rt: AppRuntime, action: Action, resume: dict[str, Any]) -> None:
    """Continue the held run with the officers' decision and post the outcome in the conversation."""
    async with (
        rt.lock(action.thread_id),
        turn(rt.sessions, "decision", thread_id=action.thread_id, run_id=action.run_id) as current,
    ):
        config: RunnableConfig = {"configurable": {"thread_id": action.run_id}}
        await rt.graph.ainvoke(Command(resume=resume), config, context=rt.deps)
        state = await rt.graph.aget_state(config)
        current.outcome = str(state.values.get("status") or "answered")
        await store_outcome(rt, action.thread_id, dict(state.values))


async def resume_unfinished(rt: AppRuntime) -> int:
    """After a crash between the decision and the execution: finish what officers already decided."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Action, ApprovalItem)
                .join(ApprovalItem, ApprovalItem.action_id == Action.id)
                .where(
                    Action.status.in_(("approved", "rejected")),
                    ApprovalItem.status.in_(("approved", "rejected")),
                )
            )
        ).all()
    count = 0
    reasons = decision_reasons(rt)
    for action, item in rows:
        state = await rt.graph.aget_state({"configurable": {"thread_id": action.run_id}})
        if not state.next:  # the run already finished
            continue
        async with rt.sessions() as session:
            decisions = await _decisions(session, item.id)
        last = reasons.get(decisions[-1].reason_code) or reasons["OTHER"]
        await resume_run(rt, action, _resume_payload(item.status, decisions, last))
        count += 1
    return count
