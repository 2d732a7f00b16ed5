"""The worker against real Redis and a real database (SQLite and Postgres): alerts once per transaction
across crashes at every point of a batch, unreadable messages set aside, lag and counters in /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.monitor import AccountWindows, MonitorWorker, replay
from finagent.db import make_engine, make_sessionmaker
from finagent.models import AmlAlert, AuditEntry
from finagent.settings import Settings
from finagent.streams import RedisTransactionStream
from policies.loader import load_policy_set
from tests.unit.monitor.test_stream_rules import PACKS
from tools.stream_screening import LedgerTransfer, StreamRules

DAY = 86400.0
RULES = StreamRules.from_policies(load_policy_set(PACKS))


def transfers(n: int, flagged_every: int = 4) -> list[LedgerTransfer]:
    """Small transfers, each account at most every 5 hours (no rule over a window fires); every
    ``flagged_every``-th goes to Nigeria."""
    return [
        LedgerTransfer(
            f"t{i}",
            f"A{i % 97}",
            f"B{i % 89}",
            50.0 + i % 7,
            10 * DAY + i * 200,
            "NG" if i % flagged_every == 0 else "DE",
        )
        for i in range(n)
    ]


@pytest.fixture
async def engine(migrated: Settings) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(migrated.database)
    yield eng
    await eng.dispose()


def worker(
    stream: RedisTransactionStream, sessions: async_sessionmaker[AsyncSession], name: str, **kw: int
) -> MonitorWorker:
    windows = AccountWindows(stream.client, stream.name, RULES.retention_s)
    return MonitorWorker(stream, windows, sessions, RULES, consumer=name, block_ms=20, **kw)


async def alert_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as s:
        return list((await s.execute(select(AmlAlert.tx_id))).scalars())


async def test_each_flagged_transfer_gets_one_alert_with_its_evidence(
    stream: RedisTransactionStream, engine: AsyncEngine
) -> None:
    sessions = make_sessionmaker(engine)
    await replay(stream, transfers(200), rate=0)
    stats = await worker(stream, sessions, "w1", batch_size=64).run(asyncio.Event(), until_idle=True)
    ids = await alert_ids(sessions)
    assert sorted(ids) == sorted(f"t{i}" for i in range(0, 200, 4))
    assert stats.processed == 200 and stats.alerts_created == 50
    async with sessions() as s:
        alert = (await s.execute(select(AmlAlert).where(AmlAlert.tx_id == "t8"))).scalar_one()
        audited = (await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
    assert alert.rules_hit == ["TM-JUR-01"] and alert.status == "open" and alert.score == 0.6
    assert alert.account == "A8" and alert.counterparty == "B8" and alert.enqueued_at is not None
    assert alert.evidence["transaction"]["country"] == "NG"
    assert alert.evidence["hits"][0]["payee_country"] == "NG"
    assert audited >= 1
    backlog = await stream.backlog()
    assert (backlog.lag, backlog.pending, backlog.processed, backlog.alerts) == (0, 0, 200, 50)


async def test_a_crash_after_the_commit_and_before_the_ack_duplicates_nothing(
    stream: RedisTransactionStream, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = make_sessionmaker(engine)
    await replay(stream, transfers(40), rate=0)
    crashing = worker(stream, sessions, "dies", batch_size=40)

    async def killed(*args: object, **kwargs: object) -> None:
        raise ConnectionError("process killed between the alert commit and the ack")

    monkeypatch.setattr(stream, "ack", killed)
    with pytest.raises(ConnectionError):
        await crashing.run(asyncio.Event(), until_idle=True)
    monkeypatch.undo()
    assert len(await alert_ids(sessions)) == 10
    assert (await stream.backlog()).pending == 40  # delivered, never acknowledged

    survivor = worker(stream, sessions, "survives", batch_size=40, claim_idle_ms=100)
    await asyncio.sleep(0.15)
    stats = await survivor.run(asyncio.Event(), until_idle=True)
    assert stats.reclaimed == 40 and stats.alerts_created == 0 and stats.redelivered_alerts == 10
    ids = await alert_ids(sessions)
    assert len(ids) == len(set(ids)) == 10
    assert (await stream.backlog()).pending == 0


async def test_a_crash_before_the_commit_loses_nothing(
    stream: RedisTransactionStream, engine: AsyncEngine
) -> None:
    sessions = make_sessionmaker(engine)
    await replay(stream, transfers(40), rate=0)
    taken = await stream.read("dies", 25, 20)  # read, then the process died: nothing written, nothing acked
    assert len(taken) == 25
    survivor = worker(stream, sessions, "survives", batch_size=50, claim_idle_ms=100)
    await asyncio.sleep(0.15)
    stats = await survivor.run(asyncio.Event(), until_idle=True)
    assert stats.reclaimed == 25 and stats.processed == 40
    assert sorted(await alert_ids(sessions)) == sorted(f"t{i}" for i in range(0, 40, 4))


async def test_replaying_the_same_transfers_again_creates_no_new_alert(
    stream: RedisTransactionStream, engine: AsyncEngine
) -> None:
    sessions = make_sessionmaker(engine)
    for _ in range(2):
        await replay(stream, transfers(30), rate=0)
        await worker(stream, sessions, "w", batch_size=16).run(asyncio.Event(), until_idle=True)
    assert len(await alert_ids(sessions)) == 8


async def test_an_unreadable_message_is_set_aside_and_the_rest_screened(
    stream: RedisTransactionStream, engine: AsyncEngine
) -> None:
    sessions = make_sessionmaker(engine)
    await stream.publish([{"tx_id": "bad", "src": "A", "amount": "12"}, transfers(1)[0].as_fields()])
    stats = await worker(stream, sessions, "w", batch_size=10).run(asyncio.Event(), until_idle=True)
    assert stats.dead_letters == 1 and stats.processed == 1
    [(_, fields)] = await stream.client.xrange(stream.dead_key)
    assert fields["tx_id"] == "bad" and "missing field(s): dst, at" in fields["_error"]
    assert await alert_ids(sessions) == ["t0"]
    backlog = await stream.backlog()
    assert (backlog.pending, backlog.dead_letters) == (0, 1)


async def test_the_window_is_shared_by_workers(stream: RedisTransactionStream, engine: AsyncEngine) -> None:
    """Ten payers to one hub, read by two workers in turn: the fan-in rule still sees all ten."""
    sessions = make_sessionmaker(engine)
    hub = [LedgerTransfer(f"f{i}", f"P{i}", "HUB", 700.0, 20 * DAY + i * 600) for i in range(10)]
    await replay(stream, hub[:5], rate=0)
    await worker(stream, sessions, "w1").run(asyncio.Event(), until_idle=True)
    await replay(stream, hub[5:], rate=0)
    await worker(stream, sessions, "w2").run(asyncio.Event(), until_idle=True)
    async with sessions() as s:
        alert = (await s.execute(select(AmlAlert).where(AmlAlert.tx_id == "f9"))).scalar_one()
    fan = next(h for h in alert.evidence["hits"] if h["rule_id"] == "TM-FIN-01")
    assert fan["counterparties"] == 10 and fan["total"] == 7000.0
    assert await alert_ids(sessions) == ["f9"]


def test_metrics_export_the_streams_lag_throughput_and_alerts(make_client, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    async def fill() -> None:
        transport = RedisTransactionStream.from_url(
            settings.redis_url or "", settings.monitor_stream, "screening"
        )
        await transport.ensure_group()
        await replay(transport, transfers(12), rate=0)
        await transport.ack([m.id for m in await transport.read("w", 5, 10)], alerts=2)
        await transport.close()

    asyncio.run(fill())
    body = make_client().get("/metrics").text
    assert "finagent_monitor_stream_up 1.0" in body
    assert "finagent_monitor_lag 7.0" in body
    assert "finagent_monitor_transactions_total 5.0" in body
    assert "finagent_monitor_alerts_total 2.0" in body


async def test_the_network_job_alerts_on_a_cycle_once_with_its_subgraph(
    stream: RedisTransactionStream, engine: AsyncEngine
) -> None:
    from app.network_job import run_once

    sessions = make_sessionmaker(engine)
    ring = [
        LedgerTransfer(f"r{i}", f"R{i}", f"R{(i + 1) % 3}", 900.0 - i, 30 * DAY + i * 3600) for i in range(3)
    ]
    await replay(stream, [*transfers(60), *ring], rate=0)
    assert await run_once(stream, sessions) == (1, 1)
    assert await run_once(stream, sessions) == (1, 0)  # the same window again: nothing new
    async with sessions() as s:
        alert = (await s.execute(select(AmlAlert).where(AmlAlert.source == "network"))).scalar_one()
    graph = alert.evidence["subgraph"]
    assert alert.rules_hit == ["NET-CYCLE"] and graph["nodes"] == ["R0", "R1", "R2"]
    assert [(e["from"], e["to"], e["amount"]) for e in graph["edges"]] == [
        ("R0", "R1", 900.0),
        ("R1", "R2", 899.0),
        ("R2", "R0", 898.0),
    ]
    assert graph["edges"][0]["date"] == "1970-01-31"
