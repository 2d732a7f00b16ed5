"""One work queue for every item a person decides: held actions (approvals), AML alerts, loan referrals,
hand-offs and complaints.

An item has a kind, a priority, an SLA due time, a candidate role, a claim that lapses, a status, a
reference to what it is about (`subject_type`/`subject_id`: an action id, an alert id, a thread id), a
payload for display, and a history (work_item_events). Anything in any layer enqueues with `enqueue`
inside its own transaction; what a decision *does* stays with the kind's owner (app/approvals.py for
approvals). Who sees what:

- each working role sees the items whose candidate role is its own (`WORKS`), and only those;
- a supervisor sees every queue, by default the escalated items, and may reassign;
- an auditor sees every queue and its history, and can never claim, reassign or decide.

Every change is one conditional UPDATE, so two staff or two server processes never both win a claim,
and the sweep (escalation, lapsed claims) locks rows with SKIP LOCKED where the database has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from finagent import audit
from finagent.auth import Principal
from finagent.models import User, WorkItem, WorkItemEvent
from finagent.settings import Settings

Kind = Literal["approval", "aml_alert", "loan_referral", "handoff", "complaint"]
# The role whose queue each kind lands in.
KIND_ROLE: dict[str, str] = {
    "approval": "compliance_officer",
    "aml_alert": "aml_analyst",
    "loan_referral": "underwriter",
    "handoff": "service_agent",
    "complaint": "service_agent",
}
WORKING_ROLES = frozenset(KIND_ROLE.values())
READS_EVERY_QUEUE = frozenset({"supervisor", "auditor"})
PRIORITIES = {1: "urgent", 2: "high", 3: "normal", 4: "low"}
Sort = Literal["priority", "sla", "oldest", "newest"]
OPEN = "pending"


class QueueError(Exception):
    """Base of the queue's refusals; the message says why."""


class QueueForbidden(QueueError):
    """This person's role may not take this step (403)."""


class QueueConflict(QueueError):
    """The item's state forbids this step now: claimed by someone else, already decided (409)."""


class ItemNotFound(QueueError):
    """No such item, or none this role may see (404: the same answer either way)."""


def can_read(principal: Principal, role: str) -> bool:
    return principal.role == role or principal.role in READS_EVERY_QUEUE


def can_work(principal: Principal, item: WorkItem) -> bool:
    """Claim, release, decide: the item's candidate role, or a supervisor. Never an auditor."""
    return principal.role == item.role or principal.role == "supervisor"


def sla_for(settings: Settings, kind: str) -> timedelta:
    return timedelta(minutes=settings.queue_sla_minutes.get(kind, 24 * 60))


async def record_event(
    session: AsyncSession, item: WorkItem, *, actor: str, event: str, now: datetime, **detail: Any
) -> WorkItemEvent:
    row = WorkItemEvent(item_id=item.id, at=now, actor=actor, event=event, detail=detail)
    session.add(row)
    await session.flush()
    return row


async def _record(
    session: AsyncSession,
    item: WorkItem,
    *,
    actor: str,
    event: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    audit_only: dict[str, Any] | None = None,
) -> None:
    """A step in the item's history and the same step, `queue.<event>`, in the audit trail."""
    detail = detail or {}
    await record_event(session, item, actor=actor, event=event, now=now, **detail)
    await audit.record(
        session,
        actor=actor,
        kind=f"queue.{event}",
        subject=item.subject_id,
        payload={"item_id": item.id, "kind": item.kind, **detail, **(audit_only or {})},
    )


def actor_of(principal: Principal) -> str:
    return f"{principal.role}:{principal.subject}"


async def enqueue(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    kind: Kind,
    subject_type: str,
    subject_id: str,
    title: str,
    actor: str,
    priority: int = 3,
    thread_id: str | None = None,
    customer_id: str | None = None,
    payload: dict[str, Any] | None = None,
    approvals_needed: int = 1,
    expires_in: timedelta | None = None,
) -> WorkItem:
    """Put an item in its kind's queue, inside the caller's transaction (the caller commits).

    Idempotent per (kind, subject_id): a node that re-runs on resume gets the existing item back.
    """
    if kind not in KIND_ROLE:
        raise ValueError(f"unknown work item kind {kind!r}; known: {', '.join(KIND_ROLE)}")
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {sorted(PRIORITIES)}")
    existing = await session.scalar(
        select(WorkItem).where(WorkItem.kind == kind, WorkItem.subject_id == subject_id)
    )
    if existing is not None:
        return existing
    item = WorkItem(
        kind=kind,
        status=OPEN,
        priority=priority,
        role=KIND_ROLE[kind],
        title=title[:300],
        subject_type=subject_type,
        subject_id=subject_id,
        thread_id=thread_id,
        customer_id=customer_id,
        payload=payload or {},
        approvals_needed=max(1, approvals_needed),
        sla_due_at=now + sla_for(settings, kind),
        expires_at=now + expires_in if expires_in is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    await session.flush()
    await _record(
        session,
        item,
        actor=actor,
        event="queued",
        now=now,
        detail={"role": item.role},
        audit_only={"priority": priority},
    )
    return item


# ---------- reading ----------


@dataclass(frozen=True)
class QueueFilter:
    kind: str | None = None
    status: str = OPEN  # or "all", or a final status
    role: str | None = None
    priority: int | None = None
    text: str = ""
    escalated: bool | None = None
    claimed: Literal["me", "unclaimed", "any"] = "any"
    sort: Sort = "priority"
    limit: int = 50
    offset: int = 0


_ORDER = {
    "priority": (WorkItem.priority.asc(), WorkItem.sla_due_at.asc(), WorkItem.id.asc()),
    "sla": (WorkItem.sla_due_at.asc(), WorkItem.id.asc()),
    "oldest": (WorkItem.created_at.asc(), WorkItem.id.asc()),
    "newest": (WorkItem.created_at.desc(), WorkItem.id.desc()),
}


def _scope(principal: Principal, f: QueueFilter, now: datetime) -> list[Any]:
    """The WHERE clauses: the filter, narrowed to the queues this principal may read."""
    if f.role is not None and not can_read(principal, f.role):
        raise QueueForbidden(f"a {principal.role} cannot read the {f.role} queue")
    where: list[Any] = []
    if f.role is not None:
        where.append(WorkItem.role == f.role)
    elif principal.role not in READS_EVERY_QUEUE:
        where.append(WorkItem.role == principal.role)
    if f.kind is not None:
        where.append(WorkItem.kind == f.kind)
    if f.status != "all":
        where.append(WorkItem.status == f.status)
    if f.priority is not None:
        where.append(WorkItem.priority == f.priority)
    # A supervisor's own queue is what escalated to them; they ask for a role's queue to see the rest.
    escalated = f.escalated
    if escalated is None and principal.role == "supervisor" and f.role is None:
        escalated = True
    if escalated is not None:
        where.append(WorkItem.escalated_at.is_not(None) if escalated else WorkItem.escalated_at.is_(None))
    if f.claimed == "me":
        where += [WorkItem.claimed_by == principal.subject, WorkItem.claim_expires_at > now]
    elif f.claimed == "unclaimed":
        where.append(or_(WorkItem.claimed_by.is_(None), WorkItem.claim_expires_at <= now))
    text = f.text.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                func.lower(WorkItem.title).like(pattern, escape="\\"),
                func.lower(WorkItem.subject_id).like(pattern, escape="\\"),
                func.lower(func.coalesce(WorkItem.customer_id, "")).like(pattern, escape="\\"),
            )
        )
    return where


async def list_items(
    session: AsyncSession, principal: Principal, f: QueueFilter, now: datetime
) -> tuple[int, list[WorkItem]]:
    """One page of the queue and the number of items the filter matches."""
    where = _scope(principal, f, now)
    total = await session.scalar(select(func.count()).select_from(WorkItem).where(*where))
    rows = await session.scalars(
        select(WorkItem).where(*where).order_by(*_ORDER[f.sort]).limit(f.limit).offset(f.offset)
    )
    return int(total or 0), list(rows.all())


async def readable(session: AsyncSession, principal: Principal, item_id: int) -> WorkItem:
    item = await session.get(WorkItem, item_id)
    if item is None or not can_read(principal, item.role):
        raise ItemNotFound("no such work item")
    return item


async def history(session: AsyncSession, item_id: int) -> list[WorkItemEvent]:
    rows = await session.scalars(
        select(WorkItemEvent).where(WorkItemEvent.item_id == item_id).order_by(WorkItemEvent.id)
    )
    return list(rows.all())


def holds_claim(item: WorkItem, subject: str, now: datetime) -> bool:
    return item.claimed_by == subject and item.claim_expires_at is not None and item.claim_expires_at > now


def claim_holder(item: WorkItem, now: datetime) -> str | None:
    """Who holds a live claim on the item; a lapsed claim is no claim."""
    if item.claimed_by and item.claim_expires_at is not None and item.claim_expires_at > now:
        return item.claimed_by
    return None


def public(item: WorkItem, now: datetime) -> dict[str, Any]:
    """An item as staff see it in the queue."""
    holder = claim_holder(item, now)
    return {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "priority": item.priority,
        "priority_label": PRIORITIES.get(item.priority, str(item.priority)),
        "role": item.role,
        "title": item.title,
        "subject_type": item.subject_type,
        "subject_id": item.subject_id,
        "thread_id": item.thread_id,
        "customer_id": item.customer_id,
        "payload": item.payload,
        "approvals_needed": item.approvals_needed,
        "claimed_by": holder,
        "claim_expires_at": item.claim_expires_at.isoformat() if holder and item.claim_expires_at else None,
        "sla_due_at": item.sla_due_at.isoformat(),
        "sla_breached": item.status == OPEN and item.sla_due_at <= now,
        "expires_at": item.expires_at.isoformat() if item.expires_at else None,
        "escalated": item.escalated_at is not None,
        "escalated_at": item.escalated_at.isoformat() if item.escalated_at else None,
        "created_at": item.created_at.isoformat(),
        "age_s": max(0, int((now - item.created_at).total_seconds())),
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
    }


def event_public(e: WorkItemEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "event": e.event, "detail": e.detail}


# ---------- claiming ----------


async def claim(
    session: AsyncSession, principal: Principal, item_id: int, *, now: datetime, ttl: timedelta
) -> WorkItem:
    """Take the item (or renew one's own claim). The caller commits."""
    item = await readable(session, principal, item_id)
    if not can_work(principal, item):
        raise QueueForbidden(f"a {principal.role} cannot claim {item.kind} items")
    won = await session.execute(
        update(WorkItem)
        .where(
            WorkItem.id == item.id,
            WorkItem.status == OPEN,
            or_(
                WorkItem.claimed_by.is_(None),
                WorkItem.claimed_by == principal.subject,
                WorkItem.claim_expires_at <= now,
            ),
        )
        .values(claimed_by=principal.subject, claimed_at=now, claim_expires_at=now + ttl, updated_at=now)
    )
    await session.refresh(item)
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(item, now)
    await _record(session, item, actor=actor_of(principal), event="claimed", now=now)
    return item


async def release(session: AsyncSession, principal: Principal, item_id: int, *, now: datetime) -> WorkItem:
    item = await readable(session, principal, item_id)
    if not can_work(principal, item):
        raise QueueForbidden(f"a {principal.role} cannot release {item.kind} items")
    won = await session.execute(
        update(WorkItem)
        .where(WorkItem.id == item.id, WorkItem.status == OPEN, WorkItem.claimed_by == principal.subject)
        .values(claimed_by=None, claimed_at=None, claim_expires_at=None, updated_at=now)
    )
    await session.refresh(item)
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(item, now, releasing=True)
    await _record(session, item, actor=actor_of(principal), event="released", now=now)
    return item


async def reassign(
    session: AsyncSession,
    principal: Principal,
    item_id: int,
    *,
    to_user: str,
    note: str,
    now: datetime,
    ttl: timedelta,
) -> WorkItem:
    """A supervisor gives the item to a named colleague of the item's role (or to a supervisor): the
    colleague then holds the claim. Recorded with the supervisor's note."""
    if principal.role != "supervisor":
        raise QueueForbidden("only a supervisor can reassign")
    item = await readable(session, principal, item_id)
    if item.status != OPEN:
        raise QueueConflict(f"item is already {item.status}")
    target = await session.scalar(select(User).where(User.subject == to_user))
    if target is None:
        raise QueueConflict(f"no staff member {to_user!r}")
    if target.role not in (item.role, "supervisor"):
        raise QueueConflict(f"{to_user} is a {target.role}; {item.kind} items go to a {item.role}")
    previous = claim_holder(item, now)
    await session.execute(
        update(WorkItem)
        .where(WorkItem.id == item.id)
        .values(claimed_by=target.subject, claimed_at=now, claim_expires_at=now + ttl, updated_at=now)
    )
    await session.refresh(item)
    await _record(
        session,
        item,
        actor=actor_of(principal),
        event="reassigned",
        now=now,
        detail={"from": previous, "to": target.subject, "note": note},
    )
    return item


def _conflict(item: WorkItem, now: datetime, *, releasing: bool = False) -> QueueConflict:
    if item.status != OPEN:
        return QueueConflict(f"item is already {item.status}")
    holder = claim_holder(item, now)
    if releasing:
        return QueueConflict(
            "you do not hold the claim" if holder is None else f"item is claimed by {holder}"
        )
    return QueueConflict(f"item is claimed by {holder}")


async def close(
    session: AsyncSession, item: WorkItem, *, status: str, actor: str, now: datetime, **detail: Any
) -> bool:
    """Move an open item to its final status; False when another decision got there first."""
    won = await session.execute(
        update(WorkItem)
        .where(WorkItem.id == item.id, WorkItem.status == OPEN)
        .values(
            status=status,
            decided_at=now,
            updated_at=now,
            claimed_by=None,
            claimed_at=None,
            claim_expires_at=None,
        )
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await record_event(session, item, actor=actor, event=status, now=now, **detail)
    return True


# ---------- the sweep ----------


def _due(*where: Any, limit: int) -> Any:
    """Ids of open items matching `where`, locked so that a second server process sweeping at the same
    moment skips them (Postgres); SQLite serialises writers instead, and the UPDATE re-checks."""
    return (
        select(WorkItem.id)
        .where(WorkItem.status == OPEN, *where)
        .order_by(WorkItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def escalate_overdue(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[WorkItem]:
    """Escalate open items past their SLA to the supervisors, once each. The caller commits."""
    overdue = _due(WorkItem.sla_due_at <= now, WorkItem.escalated_at.is_(None), limit=limit)
    ids = (
        await session.scalars(
            update(WorkItem)
            .where(WorkItem.id.in_(overdue), WorkItem.escalated_at.is_(None))
            .values(escalated_at=now, updated_at=now)
            .returning(WorkItem.id)
        )
    ).all()
    items = list((await session.scalars(select(WorkItem).where(WorkItem.id.in_(ids)))).all())
    for item in items:
        late = int((now - item.sla_due_at).total_seconds())
        await record_event(session, item, actor="system:sla", event="escalated", now=now, overdue_s=late)
        await audit.record(  # the audit entry names the deadline, the history how late it was
            session,
            actor="system:sla",
            kind="queue.escalated",
            subject=item.subject_id,
            payload={"item_id": item.id, "kind": item.kind, "sla_due_at": item.sla_due_at.isoformat()},
        )
    return items


async def lapse_claims(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[WorkItem]:
    """Free the claims that ran out, so the item shows as unclaimed again. The caller commits."""
    lapsed = _due(WorkItem.claimed_by.is_not(None), WorkItem.claim_expires_at <= now, limit=limit)
    rows = (
        await session.execute(select(WorkItem.id, WorkItem.claimed_by).where(WorkItem.id.in_(lapsed)))
    ).all()
    holders = {row.id: row.claimed_by for row in rows}
    if not holders:
        return []
    await session.execute(
        update(WorkItem)
        .where(WorkItem.id.in_(holders), WorkItem.claim_expires_at <= now)
        .values(claimed_by=None, claimed_at=None, claim_expires_at=None, updated_at=now)
    )
    items = list((await session.scalars(select(WorkItem).where(WorkItem.id.in_(holders)))).all())
    for item in items:
        await record_event(
            session, item, actor="system:sla", event="claim_lapsed", now=now, holder=holders[item.id]
        )
    return items


async def expired(session: AsyncSession, *, kind: str, now: datetime, limit: int = 100) -> list[int]:
    """Open items of `kind` past their expiry (for the kind's owner to close with a reason)."""
    rows = await session.scalars(_due(WorkItem.kind == kind, WorkItem.expires_at <= now, limit=limit))
    return list(rows.all())


async def events_after(
    session: AsyncSession, after: int, limit: int = 200
) -> list[tuple[WorkItemEvent, WorkItem]]:
    """The queue's changes since event id `after`, oldest first, with their items (live notifications)."""
    rows = await session.execute(
        select(WorkItemEvent, WorkItem)
        .join(WorkItem, WorkItem.id == WorkItemEvent.item_id)
        .where(WorkItemEvent.id > after)
        .order_by(WorkItemEvent.id)
        .limit(limit)
    )
    return [(e, i) for e, i in rows.all()]


async def last_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(WorkItemEvent.id))) or 0)
