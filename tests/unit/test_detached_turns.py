"""A turn finishes even when the customer's connection drops mid-stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

from app.conversations import Event, detached
from app.runtime import AppRuntime


async def test_turn_runs_to_its_end_after_the_reader_leaves() -> None:
    rt = AppRuntime(
        settings=cast(Any, None),
        engine=cast(Any, None),
        sessions=cast(Any, None),
        graph=cast(Any, None),
        deps=cast(Any, None),
    )
    finished = asyncio.Event()

    async def turn() -> AsyncIterator[Event]:
        yield "thread", {"thread_id": "t"}
        await asyncio.sleep(0.05)  # the model is still writing when the page closes
        yield "message", {"status": "executed"}
        finished.set()

    stream = detached(rt, turn())
    assert await anext(stream) == ("thread", {"thread_id": "t"})
    await stream.aclose()  # the customer closed the page
    await asyncio.wait_for(finished.wait(), timeout=5)
    await rt.drain()
    assert not rt._tasks
