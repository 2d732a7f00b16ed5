"""`finagent bench queue --out DIR`: how long the console's queue page takes to list, with 10,000 items
pending.

A fresh database (a temporary SQLite file, or an empty one given with --database-url) gets the
demo data and 10,000 pending approvals with the priorities, ages and escalations of a busy day, all in
the compliance officers' queue (the worst case for one role's page). Then the real server (create_app,
in-process, no network) answers the list call the queue page makes: signed-in officer, first page of 50,
sorted by priority and SLA, with the total count. Also timed: a text search, the SLA sort, a later page,
and the supervisor's escalated view. Each call is timed around the ASGI request (server time, no socket);
the target is queue_list_ms_p50 <= 200. Writes DIR/results.json.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from finagent.db import make_engine, make_sessionmaker, upgrade
from finagent.models import WorkItem, utcnow
from finagent.seed import seed_demo_data
from finagent.settings import Settings

ITEMS = 10_000
ROUNDS = 40
TARGET_MS = 200.0
CUSTOMERS = [("cust-001", "Alice Martin"), ("cust-002", "Bob Keller"), ("cust-003", "Carol Nguyen")]
PAYEES = ["Acme Trading GmbH", "Jonas Weber", "Nordsee Logistik AG", "Hausverwaltung Berlin", "Li Wei"]


def _rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(n):
        customer, name = rng.choice(CUSTOMERS)
        amount = rng.randrange(5_000, 250_000)
        created = now - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        summary = f"Transfer EUR {amount:,} to {rng.choice(PAYEES)}"
        rows.append(
            {
                "kind": "approval",
                "status": "pending",
                "priority": rng.choice((1, 2, 2, 3, 3, 3, 4)),
                "role": "compliance_officer",
                "title": f"{summary} · {name}",
                "subject_type": "action",
                "subject_id": f"bench-{i:06d}",
                "thread_id": None,
                "customer_id": customer,
                "payload": {"summary": summary, "customer_name": name, "rule_hits": rng.randrange(1, 4)},
                "approvals_needed": 2 if amount >= 50_000 else 1,
                "sla_due_at": created + timedelta(hours=4),
                "expires_at": created + timedelta(hours=72),
                "escalated_at": created + timedelta(hours=4) if rng.random() < 0.2 else None,
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


async def _seed(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.database)
    try:
        sessions = make_sessionmaker(engine)
        await seed_demo_data(sessions)
        async with sessions() as session:
            rows = _rows(ITEMS)
            for start in range(0, len(rows), 1000):
                await session.execute(insert(WorkItem), rows[start : start + 1000])
            await session.commit()
    finally:
        await engine.dispose()


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max": round(ordered[-1], 2),
    }


def measure(settings: Settings) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from server import create_app

    asyncio.run(_seed(settings))
    app = create_app(settings.model_copy(update={"queue_sweep_interval_s": 0}))
    scenarios = {
        "default_page": ("ana", "/api/queue?limit=50"),
        "text_search": ("ana", "/api/queue?q=nordsee&limit=50"),
        "sla_sort": ("ana", "/api/queue?sort=sla&limit=50"),
        "page_100": ("ana", "/api/queue?limit=50&offset=5000"),
        "supervisor_escalated": ("sara", "/api/queue?limit=50"),
    }
    timings: dict[str, list[float]] = {name: [] for name in scenarios}
    totals: dict[str, int] = {}
    with TestClient(app) as client:
        tokens = {}
        for user in ("ana", "sara"):
            r = client.post("/api/auth/login", json={"username": user, "password": f"{user}-demo"})
            r.raise_for_status()
            tokens[user] = {"Authorization": f"Bearer {r.json()['token']}"}
        for name, (user, url) in scenarios.items():  # warm up: first-call imports and query plans
            first = client.get(url, headers=tokens[user])
            first.raise_for_status()
            totals[name] = int(first.json()["total"])
        for _ in range(ROUNDS):
            for name, (user, url) in scenarios.items():
                start = time.perf_counter()
                r = client.get(url, headers=tokens[user])
                timings[name].append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
    p50 = _ms(timings["default_page"])["p50"]
    return {
        "queue_list_ms_p50": p50,
        "target_ms": TARGET_MS,
        "meets_target": p50 <= TARGET_MS,
        "pending_items": ITEMS,
        "database": settings.database.split(":", 1)[0],
        "rounds": ROUNDS,
        "scenarios": {
            name: {"url": scenarios[name][1], "user": scenarios[name][0], "total": totals[name], **_ms(t)}
            for name, t in timings.items()
        },
    }


def main(out: Path, settings: Settings, database_url: str | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    # A fresh SQLite database every run (exactly 10,000 pending items), deleted afterwards; a Postgres
    # database given with --database-url must be empty.
    with tempfile.TemporaryDirectory(prefix="finagent-bench-queue-") as data_dir:
        bench_settings = settings.model_copy(
            update={"data_dir": Path(data_dir), "database_url": database_url or "", "seed_demo_data": True}
        )
        results = measure(bench_settings)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: results[k] for k in ("queue_list_ms_p50", "meets_target", "database")}))
    return results
