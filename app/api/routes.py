"""Routes. Errors are `{"error": {"code", "message"}}`; SSE streams for chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app import approvals, conversations
from app.api.deps import (
    AuthSecretDep,
    ClientAddressDep,
    CustomerDep,
    ItemId,
    LoginThrottleDep,
    OfficerDep,
    RuntimeDep,
)
from finagent import audit
from finagent.auth import Principal, check_password, issue_token
from finagent.metrics import CHAT_EVENTS
from finagent.models import AuditEntry, User
from finagent.sanitize import PlainIdentifier, VisibleText

router = APIRouter(prefix="/api")


# Hidden characters (finagent.sanitize): an identifier that holds one is refused with 422, since
# dropping it could make the value mean another; free text has them removed, since a customer or an
# officer who pasted text loses nothing visible, and what is stored, confirmed and approved is then
# exactly what everyone sees.


class LoginIn(BaseModel):
    username: PlainIdentifier = Field(max_length=64)
    password: str = Field(max_length=256)  # never shown, compared as typed


class ChatIn(BaseModel):
    thread_id: str | None = Field(default=None, max_length=64)
    message: VisibleText


class ConfirmIn(BaseModel):
    thread_id: str = Field(max_length=64)
    action_id: str = Field(max_length=64)
    confirm: bool


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    reason_code: PlainIdentifier = Field(default="", max_length=64)
    note: VisibleText = Field(default="", max_length=2000)


def sse(events: AsyncIterator[tuple[str, dict[str, Any]]]) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        async for name, data in events:
            CHAT_EVENTS.labels(event=name if name != "message" else f"message:{data.get('status')}").inc()
            yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/auth/login")
async def login(
    body: LoginIn,
    rt: RuntimeDep,
    secret: AuthSecretDep,
    throttle: LoginThrottleDep,
    address: ClientAddressDep,
    response: Response,
) -> dict[str, str]:
    wait = await throttle.admit(body.username, address)
    if wait is not None:  # decided before the name is looked up: the same answer whether it exists or not
        raise HTTPException(
            429, f"too many sign-in attempts; try again in {wait} seconds", headers={"Retry-After": str(wait)}
        )
    async with rt.sessions() as session:
        user = await session.scalar(select(User).where(User.username == body.username))
    # One scrypt derivation whether the name exists or not, off the event loop.
    matches = await asyncio.to_thread(check_password, body.password, user.password_hash if user else None)
    if user is None or not matches:
        raise HTTPException(401, "wrong username or password")
    await throttle.succeeded(body.username, address)
    principal = Principal(subject=user.subject, role=user.role, display_name=user.display_name)  # type: ignore[arg-type]
    response.headers["Cache-Control"] = "no-store"  # the answer holds a session token
    token = issue_token(principal, secret, rt.settings.token_ttl_s)
    return {"token": token, "role": user.role, "subject": user.subject, "display_name": user.display_name}


@router.post("/chat")
async def chat(body: ChatIn, rt: RuntimeDep, customer: CustomerDep) -> StreamingResponse:
    text = conversations.validate_message(body.message, rt.settings.max_message_chars)
    thread = await conversations.open_thread(rt, customer, body.thread_id, text)
    return sse(conversations.detached(rt, conversations.chat(rt, customer, thread, text)))


@router.post("/chat/confirm")
async def confirm(body: ConfirmIn, rt: RuntimeDep, customer: CustomerDep) -> StreamingResponse:
    thread, action = await conversations.confirmable(rt, customer, body.thread_id, body.action_id)
    return sse(conversations.detached(rt, conversations.confirm(rt, thread, action.id, body.confirm)))


@router.get("/threads")
async def threads(rt: RuntimeDep, customer: CustomerDep) -> list[dict[str, Any]]:
    return await conversations.list_threads(rt, customer)


@router.get("/threads/{thread_id}")
async def thread(thread_id: str, rt: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    return await conversations.thread_view(rt, customer, thread_id)


@router.get("/approvals/reason-codes")
async def reason_codes(rt: RuntimeDep, _: OfficerDep) -> list[dict[str, Any]]:
    """The closed list of decision reasons: which decisions each applies to, and whether it needs a note."""
    return [
        {"code": code, "label": r.label, "applies_to": r.applies_to, "note_required": r.note_required}
        for code, r in approvals.decision_reasons(rt).items()
    ]


@router.get("/approvals")
async def approval_list(rt: RuntimeDep, _: OfficerDep, status: str = "pending") -> list[dict[str, Any]]:
    if status not in ("pending", "approved", "rejected", "all"):
        raise HTTPException(422, "status must be pending, approved, rejected or all")
    return await approvals.list_items(rt, status)


@router.get("/approvals/{item_id}")
async def approval_item(item_id: ItemId, rt: RuntimeDep, _: OfficerDep) -> dict[str, Any]:
    return await approvals.get_item(rt, item_id)


@router.post("/approvals/{item_id}/claim")
async def approval_claim(item_id: ItemId, rt: RuntimeDep, officer: OfficerDep) -> dict[str, Any]:
    return await approvals.claim(rt, officer, item_id)


@router.post("/approvals/{item_id}/release")
async def approval_release(item_id: ItemId, rt: RuntimeDep, officer: OfficerDep) -> dict[str, Any]:
    return await approvals.claim(rt, officer, item_id, release=True)


@router.post("/approvals/{item_id}/decision")
async def approval_decision(
    item_id: ItemId, body: DecisionIn, rt: RuntimeDep, officer: OfficerDep
) -> dict[str, Any]:
    return await approvals.decide(
        rt, officer, item_id, decision=body.decision, reason_code=body.reason_code, note=body.note
    )


@router.get("/audit")
async def audit_entries(rt: RuntimeDep, _: OfficerDep, limit: int = 100) -> list[dict[str, Any]]:
    async with rt.sessions() as session:
        rows = (
            await session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(min(limit, 1000)))
        ).all()
    return [
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "kind": e.kind,
            "subject": e.subject,
            "payload": e.payload,
            "hash": e.hash,
        }
        for e in rows
    ]


@router.get("/audit/verify")
async def audit_verify(rt: RuntimeDep, _: OfficerDep) -> dict[str, Any]:
    async with rt.sessions() as session:
        return (await audit.verify(session)).model_dump()
