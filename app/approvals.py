"""Approvals, the work queue's first kind: decide, and resume the held run once enough officers have
decided (claiming and listing are finagent.work_queue's, the same for every kind).

Only a named officer releases an action (invariant 2): every decision, approve or reject, is recorded
with identity, a reason code from the packs' closed list and a note where the code needs one; an
officer cannot decide the same item twice; items that need two approvers need two different officers,
and all their decisions travel into the resumed run and the audit trail. The status change that
releases an action is a conditional UPDATE, so concurrent approvals resume the run once, and
execution is idempotent behind it (invariant 3). A held action no one decides before it expires is
rejected by the sweep with the APPROVAL_EXPIRED reason, and its run resumed so the customer is told.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import select, update

from app.conversations import InputError, NotFound, action_staff_view, store_outcome
from app.observability import turn
from app.runtime import AppRuntime
from finagent import audit, work_queue
from finagent.auth import Principal
from finagent.models import Action, ApprovalDecision, Customer, Message, WorkItem
from finagent.work_queue import QueueConflict, QueueForbidden
from policies.schema import DecisionReason
from tools.policy_engine import get_engine

log = logging.getLogger(__name__)
EXPIRED = "APPROVAL_EXPIRED"  # the reason the sweep gives; in the packs' decision_reasons
SYSTEM_EXPIRY = "system:expiry"


def decision_reasons(rt: AppRuntime) -> dict[str, DecisionReason]:
    """The closed list of decision reasons, from the policy packs (hot-reloaded with them)."""
    return get_engine(rt.settings.policy_dir).policies.decision_reasons


def _check_reason(rt: AppRuntime, decision: str, reason_code: str, note: str) -> DecisionReason:
    reasons = {c: r for c, r in decision_reasons(rt).items() if decision in r.applies_to and c != EXPIRED}
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


# The queue's refusals under the names this module always used.
ApprovalConflict = QueueConflict
ApprovalForbidden = QueueForbidden


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


async def _related(session: Any, items: list[WorkItem]) -> _Related:
    action_ids = {i.subject_id for i in items}
    customer_ids = {i.customer_id for i in items if i.customer_id}
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
    session: Any,
    item: WorkItem,
    now: datetime,
    *,
    detail: bool = False,
    related: _Related | None = None,
) -> dict[str, Any]:
    related = related or await _related(session, [item])
    action = related.actions.get(item.subject_id)
    customer = related.customers.get(item.customer_id or "")
    out: dict[str, Any] = {
        **work_queue.public(item, now),
        "customer_name": customer.name if customer else "",
        "action": action_staff_view(action),
        "rationale": action.rationale if action else "",
        "decisions": [_decision_view(d) for d in related.decisions.get(item.id, [])],
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
        out["history"] = [work_queue.event_public(e) for e in await work_queue.history(session, item.id)]
    return out


async def _approval(session: Any, principal: Principal, item_id: int, *, lock: bool = False) -> WorkItem:
    item = await session.get(WorkItem, item_id, with_for_update=lock)
    if item is None or item.kind != "approval" or not work_queue.can_read(principal, item.role):
        raise NotFound("no such approval item")
    return item


async def list_items(rt: AppRuntime, principal: Principal, status: str) -> list[dict[str, Any]]:
    now = rt.clock.now()
    async with rt.sessions() as session:
        f = work_queue.QueueFilter(
            kind="approval", status=status, role="compliance_officer", sort="newest", limit=200
        )
        _, items = await work_queue.list_items(session, principal, f, now)
        related = await _related(session, items)  # not three queries per item
        return [await _public(session, item, now, related=related) for item in items]


async def get_item(rt: AppRuntime, principal: Principal, item_id: int) -> dict[str, Any]:
    async with rt.sessions() as session:
        item = await _approval(session, principal, item_id)
        return await _public(session, item, rt.clock.now(), detail=True)


async def claim(rt: AppRuntime, officer: Principal, item_id: int, *, release: bool = False) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.sessions() as session:
        await _approval(session, officer, item_id)
        if release:
            item = await work_queue.release(session, officer, item_id, now=now)
        else:
            ttl = timedelta(minutes=rt.settings.queue_claim_minutes)
            item = await work_queue.claim(session, officer, item_id, now=now, ttl=ttl)
        await session.commit()
        return await _public(session, item, now)


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
        now = rt.clock.now()
        async with rt.sessions() as session:
            item = await _approval(session, officer, item_id, lock=True)
            if not work_queue.can_work(officer, item):
                raise ApprovalForbidden(f"a {officer.role} cannot decide approvals")
            if item.status != "pending":
                raise ApprovalConflict(f"item is already {item.status}")
            holder = work_queue.claim_holder(item, now)
            if holder != officer.subject:
                raise ApprovalConflict(
                    "claim the item before deciding" if holder is None else f"item is claimed by {holder}"
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
                subject=item.subject_id,
                payload={
                    "item_id": item.id,
                    "role": officer.role,
                    "reason_code": reason_code,
                    "note": note,
                    "outcome": final or "waiting for another approver",
                    "decisions": [_decision_view(d) for d in decisions],
                },
            )
            actor = work_queue.actor_of(officer)
            if final is None:
                await work_queue.release(session, officer, item.id, now=now)  # free it for the next approver
                await work_queue.record_event(
                    session, item, actor=actor, event="approve", now=now, reason_code=reason_code
                )
            else:
                won = await work_queue.close(
                    session, item, status=final, actor=actor, now=now, reason_code=reason_code
                )
                if not won:
                    await session.rollback()
                    raise ApprovalConflict("item was decided concurrently")
                await session.execute(update(Action).where(Action.id == item.subject_id).values(status=final))
                resume = _resume_payload(final, decisions, reason)
            await session.commit()
            action = await session.get(Action, item.subject_id)
        if resume is not None and action is not None:
            await resume_run(rt, action, resume)
        return await get_item(rt, officer, item_id)


async def expire_overdue(rt: AppRuntime) -> list[str]:
    """Reject every held action past its expiry with the APPROVAL_EXPIRED reason, and resume its run so
    the customer reads the outcome in the conversation. Safe with several server processes: the rows
    are locked (SKIP LOCKED on Postgres) and closed by a conditional UPDATE, so each is rejected once."""
    reason = decision_reasons(rt).get(EXPIRED)
    if reason is None:
        raise RuntimeError(f"the policy packs have no decision reason {EXPIRED}; the sweep cannot reject")
    now = rt.clock.now()
    done: list[tuple[Action, dict[str, Any]]] = []
    async with rt.sessions() as session:
        for item_id in await work_queue.expired(session, kind="approval", now=now):
            item = await session.get(WorkItem, item_id)
            if item is None or item.expires_at is None:
                continue
            waited = int((now - item.created_at).total_seconds() // 60)
            note = f"no decision within {waited} minutes of being queued; rejected automatically"
            if not await work_queue.close(
                session, item, status="rejected", actor=SYSTEM_EXPIRY, now=now, reason_code=EXPIRED
            ):
                continue
            expiry = ApprovalDecision(
                item_id=item.id, approver=SYSTEM_EXPIRY, decision="reject", reason_code=EXPIRED, note=note
            )
            session.add(expiry)
            await session.flush()
            decisions = [*(await _decisions(session, item.id))]
            await session.execute(
                update(Action).where(Action.id == item.subject_id).values(status="rejected")
            )
            await audit.record(
                session,
                actor=SYSTEM_EXPIRY,
                kind="approval.expired",
                subject=item.subject_id,
                payload={
                    "item_id": item.id,
                    "reason_code": EXPIRED,
                    "note": note,
                    "expires_at": item.expires_at.isoformat(),
                    "decisions": [_decision_view(d) for d in decisions],
                },
            )
            action = await session.get(Action, item.subject_id)
            if action is not None:
                done.append((action, _resume_payload("rejected", decisions, reason)))
        await session.commit()
    for action, resume in done:
        try:
            await resume_run(rt, action, resume)
        except Exception:  # the next start's resume_unfinished finishes it; the rejection is recorded
            log.exception("could not resume the run of expired action %s", action.id)
    return [a.id for a, _ in done]


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
                select(Action, WorkItem)
                .join(WorkItem, WorkItem.subject_id == Action.id)
                .where(
                    WorkItem.kind == "approval",
                    Action.status.in_(("approved", "rejected")),
                    WorkItem.status.in_(("approved", "rejected")),
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
