"""The staff work queue over HTTP: list with filters, sort and paging; claim, release, reassign; history;
live changes (SSE). Every route is role-checked by finagent.work_queue: a role that asks for another
role's queue gets 403, an item it may not see is 404."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import ItemId, RuntimeDep, StaffDep
from app.queue_sweep import sweep
from finagent import work_queue
from finagent.models import User
from finagent.sanitize import PlainIdentifier, VisibleText

router = APIRouter(prefix="/api")
HEARTBEAT_S = 15.0
POLL_S = 1.0


class ReassignIn(BaseModel):
    to_user: PlainIdentifier = Field(max_length=64, description="the staff id (subject) to give it to")
    note: VisibleText = Field(min_length=1, max_length=2000, description="why: recorded in the history")


class ClockIn(BaseModel):
    advance_s: float = Field(ge=0, le=365 * 24 * 3600)


@router.get("/queue")
async def queue_list(
    rt: RuntimeDep,
    principal: StaffDep,
    kind: Annotated[
        Literal["approval", "aml_alert", "loan_referral", "handoff", "complaint"] | None, Query()
    ] = None,
    status: Annotated[str, Query(max_length=16, pattern=r"^[a-z_]+$")] = "pending",
    role: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    escalated: bool | None = None,
    claimed: Literal["me", "unclaimed", "any"] = "any",
    sort: Literal["priority", "sla", "oldest", "newest"] = "priority",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of the queue. Without `role`: the caller's own queue (a supervisor's is what escalated to
    supervisors, an auditor's every queue)."""
    f = work_queue.QueueFilter(
        kind=kind,
        status=status,
        role=role,
        priority=priority,
        text=q,
        escalated=escalated,
        claimed=claimed,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    now = rt.clock.now()
    async with rt.sessions() as session:
        total, items = await work_queue.list_items(session, principal, f, now)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "now": now.isoformat(),
        "items": [work_queue.public(i, now) for i in items],
    }


@router.get("/queue/staff")
async def queue_staff(rt: RuntimeDep, principal: StaffDep, role: str | None = None) -> list[dict[str, str]]:
    """Who an item can be reassigned to (supervisors only)."""
    if principal.role != "supervisor":
        raise HTTPException(403, "only a supervisor can reassign")
    query = select(User).where(User.role != "customer", User.role != "auditor").order_by(User.username)
    if role is not None:
        query = query.where(User.role.in_((role, "supervisor")))
    async with rt.sessions() as session:
        users = (await session.scalars(query)).all()
    return [{"subject": u.subject, "display_name": u.display_name, "role": u.role} for u in users]


@router.get("/queue/events")
async def queue_events(
    rt: RuntimeDep,
    principal: StaffDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Live queue changes the caller may see, as SSE (`id` is the history event's id). Read from the
    database, so a change made by any server process arrives; a reconnect with Last-Event-ID (or
    ?after=) misses nothing. The stream ends after QUEUE_EVENTS_MAX_S; clients reconnect."""
    async with rt.sessions() as session:
        cursor = after if after is not None else await work_queue.last_event_id(session)
    if last_event_id and last_event_id.isdigit():
        cursor = int(last_event_id)

    async def body() -> AsyncIterator[str]:
        nonlocal cursor
        yield f"event: ready\ndata: {json.dumps({'cursor': cursor})}\n\n"
        deadline = time.monotonic() + rt.settings.queue_events_max_s
        beat = time.monotonic()
        while time.monotonic() < deadline:
            async with rt.sessions() as session:
                rows = await work_queue.events_after(session, cursor)
            for event, item in rows:
                cursor = event.id
                if not work_queue.can_read(principal, item.role):
                    continue
                data = {
                    "event_id": event.id,
                    "item_id": item.id,
                    "kind": item.kind,
                    "role": item.role,
                    "event": event.event,
                    "actor": event.actor,
                    "status": item.status,
                    "escalated": item.escalated_at is not None,
                    "at": event.at.isoformat(),
                }
                yield f"id: {event.id}\nevent: queue\ndata: {json.dumps(data)}\n\n"
            if time.monotonic() - beat > HEARTBEAT_S:
                beat = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_S if not rows else 0)
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/queue/{item_id}")
async def queue_item(item_id: ItemId, rt: RuntimeDep, principal: StaffDep) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.sessions() as session:
        item = await work_queue.readable(session, principal, item_id)
        events = await work_queue.history(session, item.id)
    return {**work_queue.public(item, now), "history": [work_queue.event_public(e) for e in events]}


@router.post("/queue/{item_id}/claim")
async def queue_claim(item_id: ItemId, rt: RuntimeDep, principal: StaffDep) -> dict[str, Any]:
    now = rt.clock.now()
    ttl = timedelta(minutes=rt.settings.queue_claim_minutes)
    async with rt.sessions() as session:
        item = await work_queue.claim(session, principal, item_id, now=now, ttl=ttl)
        await session.commit()
    return work_queue.public(item, now)


@router.post("/queue/{item_id}/release")
async def queue_release(item_id: ItemId, rt: RuntimeDep, principal: StaffDep) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.sessions() as session:
        item = await work_queue.release(session, principal, item_id, now=now)
        await session.commit()
    return work_queue.public(item, now)


@router.post("/queue/{item_id}/reassign")
async def queue_reassign(
    item_id: ItemId, body: ReassignIn, rt: RuntimeDep, principal: StaffDep
) -> dict[str, Any]:
    now = rt.clock.now()
    ttl = timedelta(minutes=rt.settings.queue_claim_minutes)
    async with rt.sessions() as session:
        item = await work_queue.reassign(
            session, principal, item_id, to_user=body.to_user, note=body.note.strip(), now=now, ttl=ttl
        )
        await session.commit()
    return work_queue.public(item, now)


@router.post("/test/clock")
async def test_clock(body: ClockIn, rt: RuntimeDep, _: StaffDep) -> dict[str, Any]:
    """ENVIRONMENT=test only (404 otherwise): move the queue's clock forward, then sweep at once, so
    browser tests see SLA escalation and expiry without waiting."""
    if rt.settings.environment != "test":
        raise HTTPException(404, "Not Found")
    rt.clock.advance(body.advance_s)
    return await sweep(rt)
