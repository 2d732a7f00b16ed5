"""The transaction stream: an interface and its Redis Streams implementation.

Delivery is at-least-once. A worker reads a batch in a consumer group, does its work, and acks
only after its results are committed; a worker that dies leaves its batch in the group's pending
entries list, where another worker reclaims it (``claim_stale``, Redis ``XAUTOCLAIM``) once it
has been idle for longer than a batch can take. Consumers must therefore be idempotent.

Kafka fits the same interface (a topic partitioned by account, a consumer group, commits after
the alert commit, and redelivery of uncommitted offsets in place of ``claim_stale``). It is not
implemented: no broker was available to test one against, and an untested transport is worse
than none. ``TransactionStream`` is the contract a Kafka implementation would meet.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError


@dataclass(frozen=True, slots=True)
class StreamMessage:
    id: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far behind the consumer group is."""

    length: int  # entries in the stream
    lag: int  # entries not yet delivered to any consumer of the group
    pending: int  # delivered, not yet acknowledged
    consumers: int
    processed: int  # acknowledged, all time (a counter kept beside the stream)
    alerts: int  # alerts created, all time
    dead_letters: int  # messages that could not be read, kept in the dead-letter stream


class TransactionStream(Protocol):
    """What the monitor's workers and the replay need from a transport."""

    name: str

    async def publish(self, records: Sequence[Mapping[str, str]]) -> list[str]: ...
    async def ensure_group(self) -> None: ...
    async def read(self, consumer: str, count: int, block_ms: int) -> list[StreamMessage]: ...
    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[StreamMessage]: ...
    async def ack(self, ids: Sequence[str], *, alerts: int = 0) -> None: ...
    async def dead_letter(self, message: StreamMessage, error: str) -> None: ...
    async def backlog(self) -> Backlog: ...
    async def close(self) -> None: ...


class RedisTransactionStream:
    """A Redis stream ``name`` with the consumer group ``group``; counters in ``name:stats``, unreadable
    messages in ``name:dead``."""

    def __init__(self, client: aioredis.Redis, name: str, group: str) -> None:
        self.client = client
        self.name = name
        self.group = group
        self.stats_key = f"{name}:stats"
        self.dead_key = f"{name}:dead"
        self._claim_cursor = "0-0"

    @classmethod
    def from_url(cls, url: str, name: str, group: str) -> RedisTransactionStream:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), name, group)

    async def publish(self, records: Sequence[Mapping[str, str]]) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for record in records:
            pipe.xadd(self.name, dict(record))  # type: ignore[arg-type]
        return [str(i) for i in await pipe.execute()]

    async def ensure_group(self) -> None:
        """Create the group at the start of the stream (so nothing already enqueued is skipped)."""
        try:
            await self.client.xgroup_create(self.name, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, consumer: str, count: int, block_ms: int) -> list[StreamMessage]:
        reply: Any = await self.client.xreadgroup(
            self.group, consumer, {self.name: ">"}, count=count, block=block_ms or None
        )
        return [StreamMessage(mid, fields) for _, entries in reply or [] for mid, fields in entries]

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[StreamMessage]:
        """Take over entries another consumer read but did not ack within ``min_idle_ms`` (it died)."""
        claimed: list[StreamMessage] = []
        while len(claimed) < count:
            answer: Any = await self.client.xautoclaim(
                self.name,
                self.group,
                consumer,
                min_idle_ms,
                start_id=self._claim_cursor,
                count=count - len(claimed),
            )
            cursor, entries = answer[0], answer[1]
            claimed += [StreamMessage(mid, fields) for mid, fields in entries if fields is not None]
            self._claim_cursor = str(cursor)
            if self._claim_cursor == "0-0":
                break
        return claimed

    async def ack(self, ids: Sequence[str], *, alerts: int = 0) -> None:
        if not ids:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.name, self.group, *ids)
        pipe.hincrby(self.stats_key, "processed", len(ids))
        if alerts:
            pipe.hincrby(self.stats_key, "alerts", alerts)
        await pipe.execute()

    async def dead_letter(self, message: StreamMessage, error: str) -> None:
        """Keep an unreadable message with the reason, then ack it: it is set aside, never dropped."""
        pipe = self.client.pipeline(transaction=True)
        record: dict[Any, Any] = {**message.fields, "_id": message.id, "_error": error[:500]}
        pipe.xadd(self.dead_key, record)
        pipe.xack(self.name, self.group, message.id)
        pipe.hincrby(self.stats_key, "dead_letters", 1)
        await pipe.execute()

    async def backlog(self) -> Backlog:
        length = await self.client.xlen(self.name)
        groups: list[dict[str, Any]] = []
        try:
            groups = await self.client.xinfo_groups(self.name)
        except ResponseError:  # no stream yet
            groups = []
        mine = next((g for g in groups if g.get("name") == self.group), {})
        stats = await self.client.hgetall(self.stats_key)
        lag = mine.get("lag")
        return Backlog(
            length=int(length),
            lag=int(lag) if lag is not None else int(length),
            pending=int(mine.get("pending", 0)),
            consumers=int(mine.get("consumers", 0)),
            processed=int(stats.get("processed", 0)),
            alerts=int(stats.get("alerts", 0)),
            dead_letters=int(stats.get("dead_letters", 0)),
        )

    async def close(self) -> None:
        await self.client.aclose()


def now() -> float:
    """Wall-clock seconds, the clock enqueue times are stamped with."""
    return time.time()
