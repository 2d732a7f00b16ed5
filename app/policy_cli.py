"""`finagent policy lint` and `finagent policy simulate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

policy_app = typer.Typer(
    no_args_is_help=True, help="Validate policy packs and simulate changes before deploying them."
)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


def _default_dir() -> Path:
    from finagent.settings import get_settings

    return get_settings().policy_dir


@policy_app.command("lint")
def lint(
    dir: Annotated[Path | None, typer.Option("--dir", help="pack folder (default: POLICY_DIR)")] = None,
) -> None:
    """Validate every pack; print each problem as file, rule id, field. Exits 1 on problems."""
    from policies.loader import PolicyLoadError, load_policy_set

    folder = dir or _default_dir()
    try:
        policies = load_policy_set(folder)
    except PolicyLoadError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s) in {folder}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"ok: {len(policies.packs)} packs, {len(policies.rules)} rules, version {policies.version}")


@policy_app.command("simulate")
def simulate(
    proposed: Annotated[Path, typer.Option(help="folder with the proposed packs")],
    transactions: Annotated[
        Path, typer.Option(help="CSV: customer_id,at,amount,direction,counterparty[,counterparty_country]")
    ],
    current: Annotated[Path | None, typer.Option(help="current pack folder (default: POLICY_DIR)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Replay history under the current and proposed packs; report hits per rule and queue change."""
    from policies.loader import PolicyLoadError, load_policy_set
    from tools.policy_engine import PolicyEngine
    from tools.policy_simulation import read_transactions, render
    from tools.policy_simulation import simulate as run

    try:
        engines = [PolicyEngine(load_policy_set(folder)) for folder in (current or _default_dir(), proposed)]
        rows = read_transactions(transactions)
    except (PolicyLoadError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    report = run(rows, engines[0], engines[1])
    typer.echo(json.dumps(report.as_dict(), indent=2) if as_json else render(report))
