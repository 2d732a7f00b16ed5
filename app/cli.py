"""The `finagent` command. Each domain registers its own subcommands; heavy imports stay inside
the commands so `finagent --help` is instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from finagent.settings import SettingsError, get_settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="finagent: agents for banks. The model proposes, rules decide, people approve.",
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: HOST setting)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: PORT setting)")] = None,
) -> None:
    """Run the web server: chat API, approvals API, widget and console."""
    import uvicorn

    from app.observability import logging_config

    settings = get_settings()
    uvicorn.run(
        "server:app",
        host=host or settings.host,
        port=port or settings.port,
        log_config=logging_config(settings),  # JSON lines with request and turn ids, PII redacted
    )


bench_app = typer.Typer(no_args_is_help=True, help="Re-runnable benchmarks; results go to DIR/results.json.")
app.add_typer(bench_app, name="bench")


@bench_app.command("retrieval")
def bench_retrieval(out: Annotated[Path, typer.Option()]) -> None:
    """Retrieval latency per corpus size, ingest throughput, re-ingest time."""
    from bench import retrieval

    retrieval.main(out, get_settings())


@bench_app.command("streaming")
def bench_streaming(out: Annotated[Path, typer.Option()]) -> None:
    """What the checks before each streamed sentence add to the first token's latency."""
    from bench import streaming

    streaming.main(out, get_settings())


@bench_app.command("policy")
def bench_policy(out: Annotated[Path, typer.Option()]) -> None:
    """Screening latency, batch throughput, scorecard AUC, AMLSim precision/recall."""
    from bench import policy

    policy.main(out, get_settings())


@bench_app.command("telemetry")
def bench_telemetry(out: Annotated[Path, typer.Option()]) -> None:
    """What a span costs with tracing off (the default) and on."""
    from bench import telemetry

    typer.echo(json.dumps(telemetry.main(out), indent=2))


@bench_app.command("monitor")
def bench_monitor(out: Annotated[Path, typer.Option()]) -> None:
    """Stream monitoring: enqueue-to-alert p99, throughput with 1 and 2 workers, a worker killed mid-run."""
    from bench import monitor

    monitor.main(out, get_settings())


risk_app = typer.Typer(
    no_args_is_help=True, help="Credit scorecards: train on any portfolio, check fairness."
)
app.add_typer(risk_app, name="risk")


@risk_app.command("train-scorecard")
def risk_train_scorecard(
    data: Annotated[Path, typer.Option(help="CSV of past applications, one row each, with the outcome")],
    target: Annotated[str, typer.Option(help="the outcome column (two values)")],
    out: Annotated[Path, typer.Option(help="folder for <version>.json and its model card <version>.md")],
    spec: Annotated[
        Path | None, typer.Option(help="YAML: column types, excluded columns, good value")
    ] = None,
    good: Annotated[
        str | None, typer.Option(help="the target value meaning good (default: good or 0)")
    ] = None,
) -> None:
    """Bin with optbinning, fit points, and report AUC/KS/calibration on held-out folds."""
    from tools.scorecard_training import TrainingError, TrainingSpec, train

    try:
        model = train(data, target, out, TrainingSpec.from_yaml(spec) if spec else None, good)
    except TrainingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    version = model["model_version"]
    typer.echo(
        f"wrote {out / version}.json and {version}.md: held-out ROC-AUC {model['cv_auc']:.3f} "
        f"(folds {model['cv_auc_folds']}), KS {model['cv_ks']:.3f}"
    )


@risk_app.command("fairness")
def risk_fairness(
    out: Annotated[Path, typer.Option(help="folder for results.json")],
    config: Annotated[
        Path | None, typer.Option(help="thresholds YAML (default: tools/models/fairness.yaml)")
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(help="decline below this score (default: the credit pack's cut-off)")
    ] = None,
) -> None:
    """Demographic parity and equalised odds across protected groups; exits 1 over a threshold."""
    from tools.fairness import FAIRNESS_CONFIG, FairnessConfig, credit_pack_cutoff, fairness_report
    from tools.scorecard_training import TrainingError

    try:
        gate = FairnessConfig.from_yaml(config or FAIRNESS_CONFIG)
        cutoff = min_score if min_score is not None else credit_pack_cutoff(get_settings().policy_dir)
        report = fairness_report(gate, cutoff)
    except TrainingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    for item in report["checks"]:
        verdict = "ok" if item["passed"] else "OVER"
        typer.echo(f"{verdict:4} {item['metric']} {item['group']}: {item['value']:.3f} (max {item['max']})")
    typer.echo(f"fairness: {'PASS' if report['passed'] else 'FAIL'}; results: {out / 'results.json'}")
    raise typer.Exit(0 if report["passed"] else 1)


audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit trail.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exits 1 at the first altered, missing or reordered entry."""
    import asyncio

    from finagent import audit
    from finagent.db import make_engine, make_sessionmaker

    async def check() -> audit.ChainReport:
        engine = make_engine(get_settings().database)
        try:
            async with make_sessionmaker(engine)() as session:
                return await audit.verify(session)
        finally:
            await engine.dispose()

    report = asyncio.run(check())
    typer.echo(report.model_dump_json())
    raise typer.Exit(0 if report.ok else 1)


@app.command("migrate")
def migrate() -> None:
    """Upgrade the database schema to the newest revision (the server also does this on start)."""
    from finagent.db import upgrade

    upgrade(get_settings())
    typer.echo("database schema is up to date")


def _register_domains() -> None:
    from app import advisory_cli, eval_cli, monitor_cli, policy_cli, queue_cli, retention_cli
    from finagent import llm_cli
    from knowledge import cli as kb_cli

    llm_cli.register(app)
    kb_cli.register(app)
    policy_cli.register(app)
    retention_cli.register(app)
    queue_cli.register(app, bench_app)
    eval_cli.register(app)
    advisory_cli.register(app)
    monitor_cli.register(app)


_register_domains()


def main() -> None:
    """The console entry: a setting finagent cannot use is one line, not a traceback."""
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
