"""The transaction-monitoring worker: reads transfers from the stream in a consumer group, screens each
against its accounts' recent transfers, writes alerts, then acks.

Exactly-once alerts from at-least-once delivery:
- an alert's key is its transaction id (unique in ``aml_alerts``; a second insert is a no-op);
- the batch is acked only after the transaction that wrote its alerts has committed;
- a worker that dies leaves its batch pending; a live worker reclaims it after ``claim_idle_ms``.
So a kill at any point loses nothing (unacked work is redone) and duplicates nothing (the key).

The accounts' recent transfers live in Redis, shared by every worker: one sorted set per account,
scored by the transfer's time, whose members name the transaction (so re-adding one is a no-op).
A batch first records its own transfers, then reads the windows; of two concurrent transfers of
one account on two workers, the later reader always sees the other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import redis.asyncio as aioredis
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finagent import audit
from finagent.metrics import MONITOR_ALERTS, MONITOR_LATENCY, MONITOR_PROCESSED
from finagent.models import AmlAlert
from finagent.streams import StreamMessage, TransactionStream, now
from tools.stream_screening import (
    LedgerTransfer,
    Leg,
    RuleHit,
    StreamRules,
    TransferFormatError,
    alerting,
    legs_of,
    score,
    screen,
)

log = logging.getLogger("finagent.monitor")


class AccountWindows:
    """Each account's transfers over the rules' longest window, in Redis (``<stream>:w:<account>``)."""

    def __init__(self, client: aioredis.Redis, prefix: str, retention_s: float) -> None:
        self.client = client
        self.prefix = prefix
        self.retention_s = retention_s
        self._script = client.register_script(RECORD_AND_READ)

    def _key(self, account: str) -> str:
        return f"{self.prefix}:w:{account}"

    async def record_and_read(self, txs: Sequence[LedgerTransfer]) -> list[tuple[list[Leg], list[Leg]]]:
        """Add the batch's legs, then read each payer's and payee's window up to the transfer's time.

        One server-side script per batch: a client round trip per command cost ten times the screening.
        """
        if not txs:
            return []
        keys: list[str] = []
        args: list[str | float] = [self.retention_s, int(2 * self.retention_s) + 86400]
        for tx in txs:
            out_leg, in_leg = legs_of(tx)
            keys += [self._key(tx.src), self._key(tx.dst)]
            args += [out_leg.member(), in_leg.member(), repr(tx.at)]
        reply: Any = await self._script(keys=keys, args=args)
        windows = []
        for i in range(len(txs)):
            src, dst = reply[2 * i], reply[2 * i + 1]
            windows.append(
                (
                    [Leg.from_member(src[j], float(src[j + 1])) for j in range(0, len(src), 2)],
                    [Leg.from_member(dst[j], float(dst[j + 1])) for j in range(0, len(dst), 2)],
                )
            )
        return windows


# KEYS: payer and payee window of each transfer in turn. ARGV: retention, ttl, then per transfer the payer's
# leg, the payee's leg and the time. Legs are recorded first (the batch sees itself), read up to each
# transfer's time, and what has left every window is dropped.
RECORD_AND_READ = """
local retention, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = #KEYS / 2
local latest = -math.huge
for i = 1, n do
  local at = tonumber(ARGV[2 + 3 * i])
  redis.call('ZADD', KEYS[2 * i - 1], at, ARGV[3 * i])
  redis.call('ZADD', KEYS[2 * i], at, ARGV[1 + 3 * i])
  if at > latest then latest = at end
end
local out = {}
for i = 1, n do
  local at = tonumber(ARGV[2 + 3 * i])
  out[2 * i - 1] = redis.call('ZRANGEBYSCORE', KEYS[2 * i - 1], at - retention, at, 'WITHSCORES')
  out[2 * i] = redis.call('ZRANGEBYSCORE', KEYS[2 * i], at - retention, at, 'WITHSCORES')
end
local seen = {}
for i = 1, #KEYS do
  if not seen[KEYS[i]] then
    seen[KEYS[i]] = true
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. tostring(latest - 2 * retention))
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return out
"""


@dataclass
class WorkerStats:
    processed: int = 0
    alerts_created: int = 0
    redelivered_alerts: int = 0  # alerts whose transaction was screened before (found already written)
    reclaimed: int = 0
    dead_letters: int = 0
    batches: int = 0
    cpu_s: float = 0.0  # this process's CPU time spent in batches
    first_at: float | None = None  # when the first batch arrived
    last_at: float | None = None  # when the last batch was acknowledged
    alert_latency_ms: list[float] = field(default_factory=list)  # enqueue -> alert committed, this worker

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.alert_latency_ms)
        busy = (self.last_at - self.first_at) if self.first_at and self.last_at else 0.0

        def pct(q: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else None

        return {
            "processed": self.processed, "alerts_created": self.alerts_created,
            "redelivered_alerts": self.redelivered_alerts, "reclaimed": self.reclaimed,
            "dead_letters": self.dead_letters, "batches": self.batches, "first_at": self.first_at,
            "last_at": self.last_at, "busy_s": round(busy, 3),
            "tx_per_s": round(self.processed / busy, 1) if busy > 0 else None,
            "cpu_s": round(self.cpu_s, 3),
            "tx_per_cpu_s": round(self.processed / self.cpu_s, 1) if self.cpu_s > 0 else None,
            "alert_latency_p50_ms": pct(0.5), "alert_latency_p99_ms": pct(0.99),
        }  # fmt: skip


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


ALERTS = cast(Table, AmlAlert.__table__)


def insert_new_alerts(dialect: str) -> Any:
    """INSERT .. ON CONFLICT (tx_id) DO NOTHING RETURNING tx_id: the rows that were not there yet.
    Core, not the ORM's bulk path, executed as one executemany (a third of the ORM's cost per row)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(ALERTS).on_conflict_do_nothing(index_elements=["tx_id"]).returning(ALERTS.c.tx_id)


class MonitorWorker:
    def __init__(
        self,
        stream: TransactionStream,
        windows: AccountWindows,
        sessions: async_sessionmaker[AsyncSession],
        rules: StreamRules,
        *,
        consumer: str | None = None,
        batch_size: int = 500,
        block_ms: int = 200,
        claim_idle_ms: int = 5000,
    ) -> None:
        self.stream = stream
        self.windows = windows
        self.sessions = sessions
        self.rules = rules
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.stats = WorkerStats()

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> WorkerStats:
        """Process batches until ``stop`` is set (or, with ``until_idle``, until nothing is left)."""
        await self.stream.ensure_group()
        last_claim = 0.0
        while not stop.is_set():
            messages: list[StreamMessage] = []
            if now() - last_claim >= self.claim_idle_ms / 2000:
                messages = await self.stream.claim_stale(self.consumer, self.claim_idle_ms, self.batch_size)
                self.stats.reclaimed += len(messages)
                last_claim = now()
            if not messages:
                messages = await self.stream.read(self.consumer, self.batch_size, self.block_ms)
            if messages:
                await self.process(messages)
            elif until_idle:
                backlog = await self.stream.backlog()
                if backlog.lag == 0 and backlog.pending == 0:
                    break
        return self.stats

    async def process(self, messages: Sequence[StreamMessage]) -> int:
        """Screen one batch, commit its alerts, then ack it. Returns the alerts created."""
        cpu_start = time.process_time()
        if self.stats.first_at is None:
            self.stats.first_at = now()
        txs: list[LedgerTransfer] = []
        ids: list[str] = []
        for message in messages:
            try:
                txs.append(LedgerTransfer.from_fields(message.fields))
                ids.append(message.id)
            except TransferFormatError as exc:
                log.warning("message %s set aside in the dead-letter stream: %s", message.id, exc)
                await self.stream.dead_letter(message, str(exc))
                self.stats.dead_letters += 1
        windows = await self.windows.record_and_read(txs) if txs else []
        rows: list[dict[str, Any]] = []
        for tx, (src, dst) in zip(txs, windows, strict=True):
            hits = screen(self.rules, tx, src, dst)
            if alerting(hits):
                rows.append(self._row(tx, hits))
        created = await self._commit(rows) if rows else []
        done = now()
        await self.stream.ack(ids, alerts=len(created))
        created_ids = set(created)
        for row in rows:
            if row["tx_id"] in created_ids and row["enqueued_at"] is not None:
                latency = max(0.0, done - row["enqueued_at"].timestamp())
                MONITOR_LATENCY.observe(latency)
                if len(self.stats.alert_latency_ms) < 1_000_000:
                    self.stats.alert_latency_ms.append(latency * 1000)
        self.stats.last_at = now()
        self.stats.cpu_s += time.process_time() - cpu_start
        self.stats.processed += len(ids)
        self.stats.alerts_created += len(created)
        self.stats.redelivered_alerts += len(rows) - len(created)
        self.stats.batches += 1
        MONITOR_PROCESSED.inc(len(ids))
        MONITOR_ALERTS.inc(len(created))
        return len(created)

    def _row(self, tx: LedgerTransfer, typed: Sequence[RuleHit]) -> dict[str, Any]:
        return {
            "tx_id": tx.tx_id,
            "source": "stream",
            "account": tx.src,
            "counterparty": tx.dst,
            "amount": Decimal(repr(tx.amount)).quantize(Decimal("0.01")),
            "occurred_at": _when(tx.at),
            "score": score(typed),
            "rules_hit": [h.rule_id for h in typed],
            "evidence": {
                "transaction": {
                    "tx_id": tx.tx_id,
                    "from": tx.src,
                    "to": tx.dst,
                    "amount": tx.amount,
                    "at": _when(tx.at).isoformat(),
                    "country": tx.country or None,
                },
                "hits": [
                    {
                        "rule_id": h.rule_id,
                        "reason_code": h.reason_code,
                        "severity": h.severity,
                        "decision": h.decision,
                        **h.evidence,
                    }
                    for h in typed
                ],
                "policy_version": self.rules.policy_version,
                "worker": self.consumer,
            },
            "status": "open",
            "enqueued_at": _when(tx.enqueued) if tx.enqueued is not None else None,
            "created_at": datetime.now(UTC),
        }

    async def _commit(self, rows: list[dict[str, Any]]) -> list[str]:
        async with self.sessions() as session, session.begin():
            dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
            created = list((await session.execute(insert_new_alerts(dialect), rows)).scalars())
            if created:
                await audit.record(
                    session,
                    actor=f"monitor:{self.consumer}",
                    kind="aml_alerts_created",
                    subject="aml_alerts",
                    payload={"tx_ids": sorted(created), "policy_version": self.rules.policy_version},
                )
        return created


@dataclass
class ReplayStats:
    sent: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else float("inf")


async def replay(
    stream: TransactionStream, transfers: Sequence[LedgerTransfer], rate: float, *, tick_s: float = 0.005
) -> ReplayStats:
    """Publish transfers at ``rate`` per second (0: as fast as possible), each stamped with its enqueue
    time. Small chunks on a fixed schedule, so the pace is even and a slow tick is caught up."""
    chunk = max(1, round(rate * tick_s)) if rate > 0 else 1000
    start = now()
    sent = 0
    for offset in range(0, len(transfers), chunk):
        if rate > 0:
            due = start + offset / rate
            delay = due - now()
            if delay > 0:
                await asyncio.sleep(delay)
        stamp = repr(now())
        part = transfers[offset : offset + chunk]
        await stream.publish([{**tx.as_fields(), "enq": stamp} for tx in part])
        sent += len(part)
    return ReplayStats(sent, now() - start)
