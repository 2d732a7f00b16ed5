"""The audit trail is append-only and hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent import audit
from finagent.db import make_engine, make_sessionmaker, upgrade
from finagent.models import AuditEntry
from finagent.settings import Settings


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _write(sessions: async_sessionmaker[AsyncSession], n: int) -> None:
    for i in range(n):
        async with sessions() as s:
            await audit.record(
                s,
                actor="officer:ana",
                kind="approval.approve",
                subject=f"a{i}",
                payload={"amount": "20000.00", "note": f"ok {i}", "中文": "审核"},
            )
            await s.commit()


async def test_untouched_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _write(sessions, 5)
    async with sessions() as s:
        report = await audit.verify(s)
    assert report.ok and report.entries == 5


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (update(AuditEntry).where(AuditEntry.seq == 3).values(payload={"amount": "1.00"}), "content altered"),
        (update(AuditEntry).where(AuditEntry.seq == 2).values(actor="officer:ben"), "content altered"),
        (delete(AuditEntry).where(AuditEntry.seq == 3), "gap in sequence"),
    ],
)
async def test_tampering_is_found_at_the_altered_entry(
    sessions: async_sessionmaker[AsyncSession], tamper: object, problem: str
) -> None:
    await _write(sessions, 5)
    async with sessions() as s:
        await s.execute(tamper)  # type: ignore[call-overload]
        await s.commit()
    async with sessions() as s:
        report = await audit.verify(s)
    assert not report.ok
    assert report.problem == problem
    assert report.first_bad_seq in (2, 3, 4)


async def test_concurrent_writers_keep_one_chain(sessions: async_sessionmaker[AsyncSession]) -> None:
    await asyncio.gather(*(_write(sessions, 4) for _ in range(5)))
    async with sessions() as s:
        report = await audit.verify(s)
    assert report.ok and report.entries == 20
