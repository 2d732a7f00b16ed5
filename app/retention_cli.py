"""`finagent retention run`: prune old checkpoints and conversations (app/retention.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

retention_app = typer.Typer(
    no_args_is_help=True,
    help="Prune finished runs' checkpoints after RETENTION_CHECKPOINT_DAYS and conversations' messages "
    "after RETENTION_CONVERSATION_DAYS; the audit trail stays whole.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would go; remove nothing")] = False,
) -> None:
    """Prune once and print a JSON report; exits 1 if the audit chain does not verify afterwards.
    Schedule it (cron, a Kubernetes CronJob) daily; it is safe to run while servers are up."""
    import asyncio

    from app.retention import run_retention
    from finagent.settings import get_settings

    report = asyncio.run(run_retention(get_settings(), dry_run=dry_run))
    typer.echo(json.dumps(report.as_dict(), indent=2))
    raise typer.Exit(0 if report.audit_ok else 1)
