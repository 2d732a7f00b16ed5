"""The periodic sweep of the work queue: escalate items past their SLA, free lapsed claims, and reject
held actions past their expiry (their runs resume, so the customer is told in the conversation).

Every server process runs it in the background (QUEUE_SWEEP_INTERVAL_S); `finagent queue sweep` runs it
once, e.g. from cron when the servers' own sweep is off. Several at once are safe: each row is locked
(SKIP LOCKED on Postgres) and changed by a conditional UPDATE, so each item escalates and expires once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app import approvals
from app.runtime import AppRuntime
from finagent import work_queue
from finagent.metrics import QUEUE_SLA_BREACHES

log = logging.getLogger(__name__)


async def sweep(rt: AppRuntime) -> dict[str, Any]:
    """One pass; returns what it changed (item ids, action ids) and the clock's time."""
    now = rt.clock.now()
    async with rt.sessions() as session:
        escalated = await work_queue.escalate_overdue(session, now=now)
        lapsed = await work_queue.lapse_claims(session, now=now)
        await session.commit()
    for item in escalated:  # counted after the commit: each escalation happens once, in one process
        QUEUE_SLA_BREACHES.labels(item.kind).inc()
    expired = await approvals.expire_overdue(rt)
    if escalated or lapsed or expired:
        log.info(
            "queue sweep: %d escalated, %d claims lapsed, %d expired",
            len(escalated),
            len(lapsed),
            len(expired),
        )
    return {
        "now": now.isoformat(),
        "escalated": [i.id for i in escalated],
        "claims_lapsed": [i.id for i in lapsed],
        "expired_actions": expired,
    }


async def sweep_forever(rt: AppRuntime, interval_s: float) -> None:
    """The server's background sweep; a failed pass is logged and the next one tries again."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await sweep(rt)
        except Exception:
            log.exception("queue sweep failed; retrying in %.0f s", interval_s)
