"""`finagent monitor run` (a screening worker) and `finagent monitor replay FILE` (feed the stream)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

monitor_app = typer.Typer(
    no_args_is_help=True,
    help="Real-time transaction monitoring: workers in a Redis consumer group, and replay of transfer files.",
)

StreamOpt = Annotated[str | None, typer.Option(help="stream key (default: MONITOR_STREAM)")]
GroupOpt = Annotated[str | None, typer.Option(help="consumer group (default: MONITOR_GROUP)")]
RedisOpt = Annotated[
    str | None, typer.Option(help="Redis URL (default: REDIS_URL, else redis://127.0.0.1:6379/0)")
]


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")


def _redis_url(option: str | None) -> str:
    from finagent.settings import get_settings

    return option or get_settings().redis_url or "redis://127.0.0.1:6379/0"


@monitor_app.command("run")
def run(
    stream: StreamOpt = None,
    group: GroupOpt = None,
    redis_url: RedisOpt = None,
    consumer: Annotated[
        str | None, typer.Option(help="this worker's name in the group (default: host-pid)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="messages per read")] = 500,
    block_ms: Annotated[int, typer.Option(min=1, help="how long a read waits for new messages")] = 200,
    claim_idle_ms: Annotated[
        int, typer.Option(min=100, help="reclaim another worker's unacked messages after this long")
    ] = 5000,
    metrics_port: Annotated[int, typer.Option(help="serve this worker's /metrics on this port (0: off)")] = 0,
    simulated_amounts: Annotated[
        bool,
        typer.Option(help="amounts are not euros (AMLSim): zero floors, no rules defined by a euro amount"),
    ] = False,
    until_idle: Annotated[bool, typer.Option(help="exit once the stream has nothing left to do")] = False,
) -> None:
    """Start one screening worker; start more (on any machine) to scale out. SIGTERM finishes the batch."""
    from app.monitor import AccountWindows, MonitorWorker
    from finagent.db import make_engine, make_sessionmaker
    from finagent.settings import get_settings
    from finagent.streams import RedisTransactionStream
    from tools.policy_engine import get_engine
    from tools.stream_screening import StreamRules

    settings = get_settings()
    policies = get_engine(settings.policy_dir).policies
    rules = StreamRules.from_policies(policies, simulated_amounts=simulated_amounts)
    url = _redis_url(redis_url)
    name = stream or settings.monitor_stream

    async def main() -> None:
        from redis.exceptions import RedisError
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        transport = RedisTransactionStream.from_url(url, name, group or settings.monitor_group)
        engine = make_engine(settings.database)
        try:
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1 FROM aml_alerts LIMIT 1"))
                await transport.ensure_group()
            except SQLAlchemyError as exc:
                raise typer.BadParameter(
                    f"no aml_alerts table in {settings.database}: run `finagent migrate`"
                ) from exc
            except RedisError as exc:
                raise typer.BadParameter(f"cannot reach Redis at {url}: {exc}") from exc
            worker = MonitorWorker(
                transport,
                AccountWindows(transport.client, name, rules.retention_s),
                make_sessionmaker(engine),
                rules,
                consumer=consumer,
                batch_size=batch_size,
                block_ms=block_ms,
                claim_idle_ms=claim_idle_ms,
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            typer.echo(
                f"worker {worker.consumer}: stream {name}, group {transport.group}, {len(rules.rules)} rules"
            )
            stats = await worker.run(stop, until_idle=until_idle)
            typer.echo(json.dumps({"consumer": worker.consumer, **stats.summary()}))
        finally:
            await transport.close()
            await engine.dispose()

    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    try:
        asyncio.run(main())
    except typer.BadParameter as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@monitor_app.command("replay")
def replay_file(
    file: Annotated[Path, typer.Argument(help="AMLSim transactions.csv or a CSV of transfers")],
    rate: Annotated[float, typer.Option(min=0, help="transfers per second (0: as fast as possible)")] = 1000,
    limit: Annotated[int | None, typer.Option(min=1, help="send only the first N transfers")] = None,
    stream: StreamOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Check the whole file, then feed its transfers into the stream at --rate per second."""
    from app.monitor import replay
    from finagent.settings import get_settings
    from finagent.streams import RedisTransactionStream
    from tools.stream_screening import TransferFormatError, read_transfers

    try:
        transfers = read_transfers(file)
    except TransferFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    transfers = transfers[:limit] if limit else transfers
    settings = get_settings()
    url = _redis_url(redis_url)

    async def main() -> None:
        from redis.exceptions import RedisError

        transport = RedisTransactionStream.from_url(
            url, stream or settings.monitor_stream, settings.monitor_group
        )
        try:
            stats = await replay(transport, transfers, rate)
        except RedisError as exc:
            typer.echo(f"error: cannot write to Redis at {url}: {exc}", err=True)
            raise typer.Exit(2) from exc
        finally:
            await transport.close()
        typer.echo(
            f"sent {stats.sent} transfers to {transport.name} in {stats.seconds:.1f} s ({stats.rate:.0f}/s)"
        )

    asyncio.run(main())


@monitor_app.command("network")
def network(
    stream: StreamOpt = None,
    redis_url: RedisOpt = None,
    window_days: Annotated[
        float, typer.Option(min=0.01, help="the sliding window, in days of transfer time")
    ] = 10,
    every: Annotated[float, typer.Option(min=0, help="seconds between passes (0: one pass, then exit)")] = 0,
) -> None:
    """Network analytics over the stream's last window: cycles and repeated pairs become alerts, each
    with its subgraph. A periodic job beside the workers (docs/monitoring.md says why)."""
    import dataclasses

    from app.network_job import TUNED, run_once
    from finagent.db import make_engine, make_sessionmaker
    from finagent.settings import get_settings
    from finagent.streams import RedisTransactionStream

    settings = get_settings()
    config = dataclasses.replace(TUNED, window_days=window_days)

    async def main() -> None:
        transport = RedisTransactionStream.from_url(
            _redis_url(redis_url), stream or settings.monitor_stream, settings.monitor_group
        )
        engine = make_engine(settings.database)
        try:
            while True:
                found, created = await run_once(transport, make_sessionmaker(engine), config)
                typer.echo(f"window of {window_days:g} days: {found} detections, {created} new alerts")
                if not every:
                    break
                await asyncio.sleep(every)
        finally:
            await transport.close()
            await engine.dispose()

    asyncio.run(main())
