"""Customer conversations: runs the graph for a message or a confirmation, stores what was said,
and turns the run into the events the widget reads."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import select

from agents.confirmation import confirmation_answer
from app.observability import turn
from app.runtime import AppRuntime
from finagent import audit
from finagent.auth import Principal
from finagent.language import detect_language
from finagent.models import Action, Message, Thread, utcnow

Event = tuple[str, dict[str, Any]]
log = logging.getLogger("app.conversations")
HISTORY_TURNS = 6


class InputError(ValueError):
    """Bad input from the client: the message says what is wrong; nothing was stored."""


class NotFound(LookupError):
    pass


def action_customer_view(row: Action | None) -> dict[str, Any] | None:
    """An action as its customer sees it: what it does and where it stands. Never the verdict, its rule
    ids, evidence or list names (invariant 9: no tipping-off); the outcome only once it is done."""
    if row is None:
        return None
    return {
        "action_id": row.id,
        "type": row.type,
        "args": row.args,
        "summary": row.summary,
        "status": row.status,
        "result": row.result if row.status == "executed" else None,
    }


def action_staff_view(row: Action | None) -> dict[str, Any] | None:
    """An action as staff see it: everything, including the verdicts and why."""
    if row is None:
        return None
    return {
        **(action_customer_view(row) or {}),
        "result": row.result,
        "verdict": row.verdict,
        "recheck_verdict": row.recheck_verdict,
    }


def message_public(msg: Message, action: Action | None = None) -> dict[str, Any]:
    return {
        "id": msg.id,
        "role": msg.role,
        "content": msg.content,
        "citations": msg.citations or [],
        "status": msg.status,
        "action": action_customer_view(action),
        "created_at": msg.created_at.isoformat(),
    }


def validate_message(text: Any, max_chars: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("message must be a non-empty string")
    if len(text) > max_chars:
        raise InputError(f"message is {len(text)} characters; the limit is {max_chars}")
    return text.strip()


async def _own_thread(rt: AppRuntime, principal: Principal, thread_id: str) -> Thread:
    async with rt.sessions() as session:
        thread = await session.get(Thread, thread_id)
    if thread is None or thread.customer_id != principal.subject:
        raise NotFound("no such conversation")  # the same answer for someone else's thread (invariant 6)
    return thread


async def open_thread(
    rt: AppRuntime, principal: Principal, thread_id: str | None, first_message: str
) -> Thread:
    if thread_id:
        return await _own_thread(rt, principal, thread_id)
    async with rt.sessions() as session:
        thread = Thread(id=uuid.uuid4().hex, customer_id=principal.subject, title=first_message[:80])
        session.add(thread)
        await session.commit()
        return thread


async def _history(rt: AppRuntime, thread_id: str) -> list[dict[str, str]]:
    async with rt.sessions() as session:
        rows = (
            await session.scalars(
                select(Message)
                .where(Message.thread_id == thread_id)
                .order_by(Message.id.desc())
                .limit(HISTORY_TURNS)
            )
        ).all()
    return [{"role": m.role, "content": m.content} for m in reversed(rows)]


async def _store_user_message(rt: AppRuntime, thread: Thread, text: str, principal: Principal) -> None:
    async with rt.sessions() as session:
        session.add(Message(thread_id=thread.id, role="user", content=text))
        await audit.record(
            session,
            actor=f"customer:{principal.subject}",
            kind="message.received",
            subject=thread.id,
            payload={"content": text},
        )
        await session.commit()


async def store_outcome(rt: AppRuntime, thread_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Persist the run's reply as an assistant message; returns it as the API shows it."""
    action_id = (values.get("action") or {}).get("action_id")
    async with rt.sessions() as session:
        msg = Message(
            thread_id=thread_id,
            role="assistant",
            content=values.get("reply", ""),
            citations=values.get("citations") or [],
            status=values.get("status"),
            action_id=action_id,
        )
        session.add(msg)
        thread = await session.get(Thread, thread_id)
        if thread is not None:
            thread.status = values.get("status") or thread.status
            thread.updated_at = utcnow()
        await audit.record(
            session,
            actor=f"agent:{values.get('agent') or 'service'}",
            kind="message.sent",
            subject=thread_id,
            payload={
                "content": msg.content,
                "status": msg.status,
                "citations": msg.citations,
                "notice": values.get("notice", ""),
                "hits": [h.get("chunk_id") for h in values.get("hits") or []],
            },
        )
        await session.commit()
        action = await session.get(Action, action_id) if action_id else None
        # Answer buttons and the allocation tool's figures for the widget's charts (advisory replies).
        extras = {"choices": values.get("choices") or [], "advice": values.get("advice")}
        return message_public(msg, action) | extras


async def _run(rt: AppRuntime, run_id: str, graph_input: Any, thread_id: str) -> AsyncIterator[Event]:
    config: RunnableConfig = {"configurable": {"thread_id": run_id}}
    kind = "resume" if isinstance(graph_input, Command) else "message"
    async with turn(rt.sessions, kind, thread_id=thread_id, run_id=run_id) as current:
        log.debug("turn input: %s", graph_input.resume if isinstance(graph_input, Command) else graph_input)
        try:
            # Agents are subgraphs: their tokens arrive as (namespace, chunk).
            stream = rt.graph.astream(
                graph_input, config, context=rt.deps, stream_mode="custom", subgraphs=True
            )
            async for _, chunk in stream:
                if isinstance(chunk, dict) and chunk.get("type") == "token":
                    yield "token", {"text": chunk["text"]}
        except Exception as exc:  # the run's checkpoint keeps the state; the customer gets a clear message
            log.exception("run %s failed", run_id)
            async with rt.sessions() as session:
                await audit.record(
                    session,
                    actor="system",
                    kind="run.failed",
                    subject=thread_id,
                    payload={"run_id": run_id, "error": type(exc).__name__},
                )
                await session.commit()
            yield (
                "error",
                {
                    "code": "internal",
                    "message": "Something went wrong on our side. Your message is saved; "
                    "please try again in a moment.",
                },
            )
            return
        state = await rt.graph.aget_state(config)
        current.outcome = str(state.values.get("status") or "answered")
        yield "message", await store_outcome(rt, thread_id, dict(state.values))


async def _latest_confirmable(rt: AppRuntime, thread_id: str) -> Action | None:
    async with rt.sessions() as session:
        last = await session.scalar(
            select(Message)
            .where(Message.thread_id == thread_id, Message.role == "assistant")
            .order_by(Message.id.desc())
            .limit(1)
        )
        if last is None or last.status != "confirm" or not last.action_id:
            return None
        action = await session.get(Action, last.action_id)
    return action if action is not None and action.status == "confirm" else None


async def chat(rt: AppRuntime, principal: Principal, thread: Thread, text: str) -> AsyncIterator[Event]:
    """One customer message. The caller validated the text and opened the thread (errors before streaming)."""
    yield "thread", {"thread_id": thread.id}
    async with rt.lock(thread.id):
        pending = await _latest_confirmable(rt, thread.id)
        answer = confirmation_answer(text) if pending is not None else None
        if pending is not None and answer is not None:
            await _store_user_message(rt, thread, text, principal)
            # A typed answer sets the language of what follows ("yes" to a Chinese question: English).
            resume = {"confirm": answer, "language": detect_language(text)}
            async for event in _run(rt, pending.run_id, Command(resume=resume), thread.id):
                yield event
            return
        history = await _history(rt, thread.id)
        await _store_user_message(rt, thread, text, principal)
        run_id = uuid.uuid4().hex
        graph_input = {
            "customer_id": principal.subject,
            "thread_id": thread.id,
            "run_id": run_id,
            "user_message": text,
            "history": history,
        }
        async for event in _run(rt, run_id, graph_input, thread.id):
            yield event


async def confirmable(
    rt: AppRuntime, principal: Principal, thread_id: str, action_id: str
) -> tuple[Thread, Action]:
    thread = await _own_thread(rt, principal, thread_id)
    async with rt.sessions() as session:
        action = await session.get(Action, action_id)
    if action is None or action.thread_id != thread.id:
        raise NotFound("no such action in this conversation")
    if action.status != "confirm":
        raise InputError(f"this action is already {action.status}")
    return thread, action


async def confirm(rt: AppRuntime, thread: Thread, action_id: str, yes: bool) -> AsyncIterator[Event]:
    yield "thread", {"thread_id": thread.id}
    async with rt.lock(thread.id):
        async with rt.sessions() as session:
            action = await session.get(Action, action_id)
        if action is None or action.status != "confirm":  # a double click lost the race
            yield "error", {"code": "conflict", "message": "This action was already answered."}
            return
        async with rt.sessions() as session:
            session.add(
                Message(
                    thread_id=thread.id,
                    role="user",
                    content="Confirm" if yes else "Cancel",
                    action_id=action_id,
                )
            )
            await session.commit()
        async for event in _run(rt, action.run_id, Command(resume={"confirm": yes}), thread.id):
            yield event


async def detached(rt: AppRuntime, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """Runs a turn to its end in its own task, even if the customer closes the page mid-stream:
    a confirmed action is then still executed and its outcome stored for the next visit."""
    queue: asyncio.Queue[Event | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        finally:
            queue.put_nowait(None)

    task = rt.spawn(pump())
    while (event := await queue.get()) is not None:
        yield event
    await task


async def thread_view(rt: AppRuntime, principal: Principal, thread_id: str) -> dict[str, Any]:
    thread = await _own_thread(rt, principal, thread_id)
    async with rt.sessions() as session:
        msgs = (
            await session.scalars(select(Message).where(Message.thread_id == thread.id).order_by(Message.id))
        ).all()
        ids = {m.action_id for m in msgs if m.action_id}
        actions = (
            {a.id: a for a in (await session.scalars(select(Action).where(Action.id.in_(ids)))).all()}
            if ids
            else {}
        )
    pending = next(
        (a for a in actions.values() if a.status in ("confirm", "pending_approval", "approved")), None
    )
    return {
        "thread_id": thread.id,
        "title": thread.title,
        "status": thread.status,
        "messages": [message_public(m, actions.get(m.action_id or "")) for m in msgs],
        "pending_action": action_customer_view(pending),
    }


async def list_threads(rt: AppRuntime, principal: Principal) -> list[dict[str, Any]]:
    async with rt.sessions() as session:
        rows = (
            await session.scalars(
                select(Thread)
                .where(Thread.customer_id == principal.subject)
                .order_by(Thread.updated_at.desc())
                .limit(50)
            )
        ).all()
    return [
        {"thread_id": t.id, "title": t.title, "status": t.status, "updated_at": t.updated_at.isoformat()}
        for t in rows
    ]
