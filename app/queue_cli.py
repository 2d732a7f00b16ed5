"""`finagent queue ...`: the work queue from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from finagent.settings import get_settings

queue_app = typer.Typer(no_args_is_help=True, help="The staff work queue: SLA escalation and expiry.")


@queue_app.command("sweep")
def sweep_once() -> None:
    """Escalate items past their SLA, free lapsed claims, reject held actions past their expiry (their
    customers are told). Safe to run while servers run, and from several machines at once."""
    import asyncio

    from app.queue_sweep import sweep
    from app.runtime import open_runtime

    async def run() -> dict[str, object]:
        async with open_runtime(get_settings()) as rt:
            return await sweep(rt)

    typer.echo(json.dumps(asyncio.run(run())))


def bench_queue(
    out: Annotated[Path, typer.Option(help="folder for results.json")],
    database_url: Annotated[
        str | None, typer.Option(help="an empty database to seed (default: a temporary SQLite file)")
    ] = None,
) -> None:
    """Seed 10,000 pending work items and time the queue page's list call (target p50 <= 200 ms)."""
    from bench import queue

    queue.main(out, get_settings(), database_url)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
    bench_app.command("queue")(bench_queue)
