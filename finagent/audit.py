"""Append-only, hash-chained audit trail (invariant 5).

Every entry's hash covers its sequence number, time, actor, kind, subject, payload and the previous
entry's hash, so editing or deleting any entry breaks the chain from there on. `finagent audit verify`
and `GET /api/audit/verify` recompute it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from finagent.models import AuditEntry, utcnow

GENESIS = "0" * 64


def _ts(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def entry_hash(seq: int, at: datetime, actor: str, kind: str, subject: str, payload: Any, prev: str) -> str:
    body = json.dumps(
        [seq, _ts(at), actor, kind, subject, payload, prev], sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def record(session: AsyncSession, *, actor: str, kind: str, subject: str, payload: Any) -> AuditEntry:
    """Append an entry inside the caller's transaction (the caller commits).

    Appends are serialised until the transaction ends, across processes too: Postgres by a
    transaction-scoped advisory lock, SQLite by taking its write lock before reading the chain's tip.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(774411)"))
    else:
        await session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))
    last = (await session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))).scalar()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = utcnow()
    clean = _canonical(payload)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        subject=subject,
        payload=clean,
        prev_hash=prev,
        hash=entry_hash(seq, at, actor, kind, subject, clean, prev),
    )
    session.add(entry)
    await session.flush()
    return entry


class ChainReport(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


async def verify(session: AsyncSession) -> ChainReport:
    prev = GENESIS
    count = 0
    expected_seq = 1
    rows = await session.stream_scalars(select(AuditEntry).order_by(AuditEntry.seq))
    async for e in rows:
        count += 1
        if e.seq != expected_seq:
            return ChainReport(ok=False, entries=count, first_bad_seq=e.seq, problem="gap in sequence")
        if e.prev_hash != prev:
            return ChainReport(ok=False, entries=count, first_bad_seq=e.seq, problem="broken link")
        if entry_hash(e.seq, e.at, e.actor, e.kind, e.subject, e.payload, e.prev_hash) != e.hash:
            return ChainReport(ok=False, entries=count, first_bad_seq=e.seq, problem="content altered")
        prev = e.hash
        expected_seq += 1
    return ChainReport(ok=True, entries=count)
