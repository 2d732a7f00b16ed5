"""Routes. Errors are `{"error": {"code", "message"}}`; SSE streams for chat."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update

from app import approvals, conversations
from app.api.deps import (
    AuditReaderDep,
    AuthSecretDep,
    BearerDep,
    ClientAddressDep,
    CustomerDep,
    ItemId,
    LoginThrottleDep,
    OfficerDep,
    PrincipalDep,
    RuntimeDep,
)
from finagent import audit
from finagent.auth import Principal, check_password, hash_password, issue_token, needs_rehash, token_expiry
from finagent.metrics import CHAT_EVENTS
from finagent.models import AuditEntry, RevokedToken, User
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
    # One password hash whether the name exists or not, off the event loop.
    matches = await asyncio.to_thread(check_password, body.password, user.password_hash if user else None)
    if user is None or not matches:
        raise HTTPException(401, "wrong username or password")
    await throttle.succeeded(body.username, address)
    if needs_rehash(user.password_hash):  # a legacy scrypt hash, or older argon2 parameters
        fresh = await asyncio.to_thread(hash_password, body.password)
        async with rt.sessions() as session:
            await session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=fresh)
            )
            await session.commit()
    principal = Principal(subject=user.subject, role=user.role, display_name=user.display_name)  # type: ignore[arg-type]
    response.headers["Cache-Control"] = "no-store"  # the answer holds a session token
    token = issue_token(principal, secret, rt.settings.token_ttl_s)
    return {"token": token, "role": user.role, "subject": user.subject, "display_name": user.display_name}


@router.post("/auth/logout", status_code=204)
async def logout(rt: RuntimeDep, principal: PrincipalDep, token: BearerDep) -> Response:
    """Revoke this session's token for every server process (kept until the token would have expired)."""
    now = time.time()
    async with rt.sessions() as session:
        if await session.get(RevokedToken, principal.token_id) is None:
            session.add(RevokedToken(token_id=principal.token_id, expires_at=float(token_expiry(token))))
        await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now - 60))
        await audit.record(
            session,
            actor=f"{principal.role}:{principal.subject}",
            kind="auth.signed_out",
            subject=principal.subject,
            payload={},
        )
        await session.commit()
    return Response(status_code=204)


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
    """The closed list of decision reasons a person can give: which decisions each applies to, and
    whether it needs a note (APPROVAL_EXPIRED is the sweep's alone)."""
    return [
        {"code": code, "label": r.label, "applies_to": r.applies_to, "note_required": r.note_required}
        for code, r in approvals.decision_reasons(rt).items()
        if code != approvals.EXPIRED
    ]


@router.get("/approvals")
async def approval_list(
    rt: RuntimeDep, principal: OfficerDep, status: str = "pending"
) -> list[dict[str, Any]]:
    if status not in ("pending", "approved", "rejected", "all"):
        raise HTTPException(422, "status must be pending, approved, rejected or all")
    return await approvals.list_items(rt, principal, status)


@router.get("/approvals/{item_id}")
async def approval_item(item_id: ItemId, rt: RuntimeDep, principal: OfficerDep) -> dict[str, Any]:
    return await approvals.get_item(rt, principal, item_id)


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
async def audit_entries(rt: RuntimeDep, _: AuditReaderDep, limit: int = 100) -> list[dict[str, Any]]:
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
async def audit_verify(rt: RuntimeDep, _: AuditReaderDep) -> dict[str, Any]:
    async with rt.sessions() as session:
        return (await audit.verify(session)).model_dump()
