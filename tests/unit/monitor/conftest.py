"""Real Redis (a stream key unique to each test, deleted afterwards) and a migrated database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from finagent.db import upgrade
from finagent.settings import Settings
from finagent.streams import RedisTransactionStream

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def stream_key() -> Iterator[str]:
    key = f"test:monitor:{uuid.uuid4().hex[:12]}"
    yield key
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{key}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def stream(stream_key: str) -> AsyncIterator[RedisTransactionStream]:
    transport = RedisTransactionStream.from_url(REDIS_URL, stream_key, "screening")
    await transport.ensure_group()
    yield transport
    await transport.close()


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(settings)
    return settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str, stream_key: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        environment="test",
        redis_url=REDIS_URL,
        monitor_stream=stream_key,
    )
