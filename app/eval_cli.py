"""`finagent eval`: the developers' eval suite (evals/) against the configured model endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from finagent.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)


def eval_(
    out: Annotated[Path, typer.Option(help="output folder: results.json, report.html, report.md")],
    suite: Annotated[
        list[str] | None, typer.Option(help="suite name, repeatable, or 'all' (the default)")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint (default: LLM_BASE_URL or the embedded vLLM)"),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="the model name served there (default: LLM_MODEL)")
    ] = None,
    repeat: Annotated[int, typer.Option(min=1, max=50, help="run each case K times (pass^k)")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="cases run at the same time")] = 1,
    baseline: Annotated[
        Path | None, typer.Option(help="an earlier run's folder: regressions are marked per metric")
    ] = None,
    thresholds: Annotated[
        Path | None, typer.Option(help="thresholds YAML (default: evals/thresholds.yaml)")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="only the first N cases of each half (a quick look)")
    ] = None,
    corpus: Annotated[Path | None, typer.Option(help="another folder of documents (retrieval)")] = None,
    questions: Annotated[Path | None, typer.Option(help="a question file for --corpus (retrieval)")] = None,
    no_progress: Annotated[bool, typer.Option(help="hide progress bars")] = False,
) -> None:
    """Run eval suites; exits 1 when a gate, a threshold or a regression limit fails, 2 on bad input."""
    from evals import runner
    from evals.suites import SUITES
    from evals.thresholds import THRESHOLDS_FILE, ThresholdError
    from finagent.embedded_llm import resolve_endpoint

    names = sorted(SUITES) if not suite or suite == ["all"] else suite
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        typer.echo(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(sorted(SUITES))}", err=True)
        raise typer.Exit(2)
    if baseline is not None and not (baseline / "results.json" if baseline.is_dir() else baseline).exists():
        typer.echo(f"--baseline {baseline}: no results.json there", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    update: dict[str, object] = {}
    if endpoint:
        update["llm_base_url"] = endpoint
    if model:
        update["llm_model"] = model
    settings = settings.model_copy(update=update) if update else settings
    target = resolve_endpoint(settings)
    options = {"corpus": corpus, "questions": questions}
    run_options = runner.RunOptions(
        repeat=repeat,
        concurrency=concurrency,
        limit=limit,
        baseline=baseline,
        thresholds=thresholds or THRESHOLDS_FILE,
        endpoint={"base_url": target.base_url, "model": target.model},
    )
    try:
        ok = runner.run(names, out, settings, options, progress=not no_progress, run_options=run_options)
    except ThresholdError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    data = json.loads((out / "results.json").read_text())
    suites = data.get("suites") or {}
    for name in names:
        result = suites.get(name) or data
        status = "PASS" if result["passed"] else "FAIL"
        failures = [f"{f['metric']} {f['why']}" for f in result.get("threshold_failures") or []]
        failures += [f"gate {g['metric']}" for g in result.get("failed_gates") or []]
        regressions = result.get("regressions") or []
        typer.echo(f"{name}: {status}" + (f"; {'; '.join(failures)}" if failures else "")
                   + (f"; regressions: {', '.join(regressions)}" if regressions else ""))  # fmt: skip
    typer.echo(f"report: {out / 'report.html'}")
    raise typer.Exit(0 if ok else 1)
