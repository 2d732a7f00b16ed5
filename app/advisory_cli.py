"""`finagent advisory ...`: the advisory agent's benchmark and a look at the questionnaire."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finagent.settings import get_settings

advisory_app = typer.Typer(no_args_is_help=True, help="Robo-advice: questionnaire, allocation benchmark.")


@advisory_app.command("bench")
def bench(out: Annotated[Path, typer.Option(help="folder for results.json")]) -> None:
    """How long a portfolio proposal takes to compute (target: 300 ms)."""
    from bench import advisory

    advisory.main(out, get_settings())


@advisory_app.command("eval")
def evaluate(
    out: Annotated[Path, typer.Option(help="folder for results.json and report.md")],
    llm: Annotated[bool, typer.Option(help="let the configured model write the explanations too")] = False,
) -> None:
    """`finagent eval --suite advisory`, optionally with the configured model's explanations checked."""
    from evals import runner

    ok = runner.run(["advisory"], out, get_settings(), {"llm": llm}, progress=True)
    raise typer.Exit(0 if ok else 1)


@advisory_app.command("portfolios")
def portfolios() -> None:
    """The model portfolio of each risk class, with its backtest figures, from the shipped packs and data."""
    from policies.schema import RiskClass
    from tools.allocation import allocate
    from tools.policy_engine import get_engine

    engine = get_engine(get_settings().policy_dir)
    classes: tuple[RiskClass, ...] = ("C1", "C2", "C3", "C4", "C5")
    for cls in classes:
        p = allocate(cls, engine)
        weights = ", ".join(f"{h.product_id} {h.weight:.1%}" for h in p.holdings)
        typer.echo(
            f"{cls}: {weights} | volatility {p.volatility:.1%}, max drawdown {p.max_drawdown:.1%}, "
            f"CVaR {p.cvar:.1%} ({p.period})"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(advisory_app, name="advisory")
