"""Retention: prune LangGraph checkpoints and conversations after a configured period.

Checkpoint tables grow with every turn and are never needed again once a run has finished, so a
finished run's checkpoints go after RETENTION_CHECKPOINT_DAYS. A run that is still paused (waiting for
the customer's confirmation or an officer's decision) keeps its checkpoints whatever its age: without
them it could not be resumed.

A conversation's messages go after RETENTION_CONVERSATION_DAYS without activity, unless one of its actions
is still open; the thread row stays (actions and approval items point at it), its title (the first
words of the first message) is cleared. The audit trail is not touched: it is append-only and hash-chained,
it is the bank's record (with its own, usually longer, legal retention), and each run of this job appends
one `retention.run` entry to it saying what was removed; the chain is verified afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent import audit
from finagent.db import make_engine, make_sessionmaker, upgrade
from finagent.models import Action, Message, Thread, utcnow
from finagent.settings import Settings
from graphs.checkpoint import open_checkpointer
from graphs.main import build_graph

# Actions in these states still need their conversation and their run.
OPEN_ACTION_STATES = ("confirm", "confirmed", "pending_approval", "approved")
PRUNED_TITLE = ""


@dataclass
class RetentionReport:
    checkpoint_cutoff: str
    conversation_cutoff: str
    runs_seen: int
    runs_pruned: int
    runs_kept_paused: int
    threads_pruned: int
    messages_deleted: int
    audit_ok: bool
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _aware(at: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=utcnow().tzinfo)


async def _checkpoint_threads(saver: Any) -> list[str]:
    """Every run id (LangGraph thread) that has checkpoints, from the saver's own table."""
    query = "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''"
    conn = saver.conn
    if hasattr(conn, "connection"):  # psycopg pool (PostgreSQL)
        async with conn.connection() as pg, pg.cursor() as cur:
            await cur.execute(query)
            return [row["thread_id"] for row in await cur.fetchall()]
    async with conn.execute(query) as cur:  # aiosqlite
        return [row[0] for row in await cur.fetchall()]


async def _prune_runs(saver: Any, cutoff: datetime, dry_run: bool) -> tuple[int, int, int]:
    graph = build_graph(saver)
    seen = pruned = paused = 0
    for run_id in await _checkpoint_threads(saver):
        seen += 1
        config: RunnableConfig = {"configurable": {"thread_id": run_id}}
        state = await graph.aget_state(config)
        if state.next:  # waiting for a person: the run must stay resumable
            paused += 1
            continue
        last = datetime.fromisoformat(state.created_at) if state.created_at else None
        if last is not None and _aware(last) < cutoff:
            pruned += 1
            if not dry_run:
                await saver.adelete_thread(run_id)
    return seen, pruned, paused


async def _prune_conversations(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, dry_run: bool
) -> tuple[int, int]:
    async with sessions() as session:
        open_threads = select(Action.thread_id).where(Action.status.in_(OPEN_ACTION_STATES))
        stale = (
            await session.scalars(
                select(Thread.id).where(
                    Thread.updated_at < cutoff,
                    Thread.id.not_in(open_threads),
                    Thread.id.in_(select(Message.thread_id)),
                )
            )
        ).all()
        if not stale:
            return 0, 0
        count = await session.scalar(select(func.count()).where(Message.thread_id.in_(stale)))
        if not dry_run:
            await session.execute(delete(Message).where(Message.thread_id.in_(stale)))
            await session.execute(update(Thread).where(Thread.id.in_(stale)).values(title=PRUNED_TITLE))
            await session.commit()
        return len(stale), int(count or 0)


async def run_retention(
    settings: Settings, *, now: datetime | None = None, dry_run: bool = False
) -> RetentionReport:
    """Prune what is past its period; returns what was (or, dry, would be) removed."""
    import asyncio

    now = now or utcnow()
    checkpoint_cutoff = now - timedelta(days=settings.retention_checkpoint_days)
    conversation_cutoff = now - timedelta(days=settings.retention_conversation_days)
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.database)
    sessions = make_sessionmaker(engine)
    try:
        async with open_checkpointer(settings) as saver:
            seen, runs_pruned, paused = await _prune_runs(saver, checkpoint_cutoff, dry_run)
        threads, messages = await _prune_conversations(sessions, conversation_cutoff, dry_run)
        report = RetentionReport(
            checkpoint_cutoff=checkpoint_cutoff.isoformat(),
            conversation_cutoff=conversation_cutoff.isoformat(),
            runs_seen=seen,
            runs_pruned=runs_pruned,
            runs_kept_paused=paused,
            threads_pruned=threads,
            messages_deleted=messages,
            audit_ok=False,
            dry_run=dry_run,
        )
        async with sessions() as session:
            if not dry_run:
                payload = {k: v for k, v in report.as_dict().items() if k not in ("audit_ok", "dry_run")}
                await audit.record(
                    session, actor="system:retention", kind="retention.run", subject="", payload=payload
                )
                await session.commit()
            report.audit_ok = (await audit.verify(session)).ok
        return report
    finally:
        await engine.dispose()
