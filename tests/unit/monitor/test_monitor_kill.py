"""Real worker processes (`finagent monitor run`) in one consumer group; one is SIGKILLed mid-run. Every
transfer that must alert ends with exactly one alert, and nothing is left unacknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from app.monitor import replay
from finagent.db import make_engine, make_sessionmaker
from finagent.models import AmlAlert
from finagent.settings import Settings
from finagent.streams import RedisTransactionStream
from tests.unit.monitor.conftest import REDIS_URL
from tests.unit.monitor.test_monitor_worker import transfers

ROOT = Path(__file__).resolve().parents[3]


def start(settings: Settings, name: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "test",
        "REDIS_URL": REDIS_URL,
    }
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "monitor",
        "run",
        "--stream",
        settings.monitor_stream,
        "--consumer",
        name,
        "--until-idle",
        "--batch-size",
        "200",
        "--claim-idle-ms",
        "1000",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_run_loses_and_duplicates_no_alert(migrated: Settings) -> None:
    batch = transfers(12000, flagged_every=3)
    expected = {t.tx_id for t in batch if t.country == "NG"}

    async def fill() -> None:
        stream = RedisTransactionStream.from_url(REDIS_URL, migrated.monitor_stream, "screening")
        await stream.ensure_group()
        await replay(stream, batch, rate=0)
        await stream.close()

    asyncio.run(fill())
    victim, survivor = start(migrated, "victim"), start(migrated, "survivor")

    async def kill_when_busy() -> int:
        stream = RedisTransactionStream.from_url(REDIS_URL, migrated.monitor_stream, "screening")
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = await stream.client.xpending_range(
                    stream.name, "screening", "-", "+", 1000, "victim"
                )
                if pending and (await stream.backlog()).processed >= 1000:
                    # Frozen first, so that what it holds cannot change between the count and the kill (it
                    # could ack its batch in between, and then there would be nothing to take over).
                    victim.send_signal(signal.SIGSTOP)
                    held = await stream.client.xpending_range(
                        stream.name, "screening", "-", "+", 1000, "victim"
                    )
                    if held:
                        victim.send_signal(signal.SIGKILL)
                        return len(held)
                    victim.send_signal(signal.SIGCONT)
                await asyncio.sleep(0.01)
            raise AssertionError("the victim never took a batch")
        finally:
            await stream.close()

    unacked = asyncio.run(kill_when_busy())
    out, _ = survivor.communicate(timeout=300)
    victim.wait(timeout=10)
    report = json.loads(out.strip().splitlines()[-1])

    async def outcome() -> tuple[list[str], int, int]:
        engine = make_engine(migrated.database)
        async with make_sessionmaker(engine)() as s:
            ids = list((await s.execute(select(AmlAlert.tx_id))).scalars())
        await engine.dispose()
        fresh = RedisTransactionStream.from_url(REDIS_URL, migrated.monitor_stream, "screening")
        backlog = await fresh.backlog()
        await fresh.close()
        return ids, backlog.pending, backlog.lag

    ids, pending, lag = asyncio.run(outcome())
    assert victim.returncode == -signal.SIGKILL and unacked > 0
    assert report["reclaimed"] >= unacked  # the survivor took over what the victim held
    assert set(ids) == expected  # nothing lost
    assert len(ids) == len(set(ids))  # nothing twice
    assert (pending, lag) == (0, 0)
