"""`finagent eval`: runs suites, writes results.json, report.md and report.html, fails on regressions.

Layout of the output folder: with one suite, ``DIR/results.json`` is that suite's payload (metrics,
gates, items) plus the run's summary; with several, each suite writes ``DIR/<suite>/`` and
``DIR/results.json`` holds them all under ``suites``. Either way ``DIR/report.html`` is the one page
to read.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.base import ModelFactory, SuiteContext, SuiteResult
from evals.progress import Progress
from evals.suites import SUITES
from evals.thresholds import (
    THRESHOLDS_FILE,
    Threshold,
    compare,
    load_baseline,
    load_thresholds,
    threshold_failures,
)
from finagent.settings import Settings

# Metrics the issue names, copied to the top of results.json so CI can read them without knowing suites.
HEADLINE = ("unapproved_executions", "unauthorised_tool_calls", "leaks", "pass_hat_k")


class UnknownSuiteError(ValueError):
    pass


@dataclass
class RunOptions:
    repeat: int = 1
    concurrency: int = 1
    limit: int | None = None
    model_factory: ModelFactory | None = None
    baseline: Path | None = None
    thresholds: Path = THRESHOLDS_FILE
    endpoint: dict[str, Any] = field(default_factory=dict)  # what the report says the model was


def run_suite(name: str, ctx: SuiteContext) -> SuiteResult:
    if name not in SUITES:
        raise UnknownSuiteError(f"unknown suite {name!r}; known: {', '.join(sorted(SUITES))}")
    module = importlib.import_module(SUITES[name])
    result: SuiteResult = module.run(ctx)
    return result


def _llm_totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    llm = [i["llm"] for i in items if isinstance(i.get("llm"), dict)]
    if not llm:
        return {}
    return {
        "calls": sum(x.get("calls", 0) for x in llm),
        "prompt_tokens": sum(x.get("prompt_tokens", 0) for x in llm),
        "completion_tokens": sum(x.get("completion_tokens", 0) for x in llm),
    }


def write_outputs(
    result: SuiteResult,
    out_dir: Path,
    elapsed_s: float,
    thresholds: dict[str, Threshold] | None = None,
    baseline: dict[str, float] | None = None,
) -> dict[str, Any]:
    thresholds = thresholds or {}
    failed = result.failed_gates()
    over = threshold_failures(result.metrics, thresholds)
    diff = compare(result.metrics, baseline, set(result.lower_is_better), thresholds) if baseline else []
    payload: dict[str, Any] = {
        "suite": result.suite,
        "finished_at": datetime.now(UTC).isoformat(),
        "elapsed_s": round(elapsed_s, 3),
        "passed": not failed and not over and not any(r["gating"] for r in diff),
        "metrics": result.metrics,
        "gates": [g.model_dump(exclude_none=True) for g in result.gates],
        "failed_gates": [g.model_dump(exclude_none=True) for g in failed],
        "thresholds": {m: t.model_dump(exclude_none=True) for m, t in thresholds.items()},
        "threshold_failures": over,
        "lower_is_better": result.lower_is_better,
        "baseline_diff": diff,
        "regressions": [r["metric"] for r in diff if r["regression"]],
        "llm": _llm_totals(result.items),
        "charts": result.charts,
        **result.extra,
        "items": result.items,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    (out_dir / "report.md").write_text(_markdown(result, payload, elapsed_s))
    return payload


def _markdown(result: SuiteResult, payload: dict[str, Any], elapsed_s: float) -> str:
    lines = [
        f"# Eval report: {result.suite}",
        "",
        f"Finished {payload['finished_at']} in {elapsed_s:.1f} s.",
        "",
    ]
    lines += ["| metric | value | gate | |", "| --- | --- | --- | --- |"]
    gates = {g.metric: g for g in result.gates}
    for metric, value in result.metrics.items():
        gate = gates.get(metric)
        status = "" if gate is None else ("**FAIL**" if gate.fails(value) else "pass")
        lines.append(f"| {metric} | {value:.4f} | {'' if gate is None else gate.describe()} | {status} |")
    for failure in payload["threshold_failures"]:
        lines.append(f"\n**Threshold failed:** {failure['metric']} {failure['why']}")
    lines += ["", result.report_md.strip(), ""]
    lines += [f"![{c}]({c})" for c in result.charts]
    return "\n".join(lines).rstrip() + "\n"


def run(
    names: list[str],
    out_dir: Path,
    settings: Settings,
    options: dict[str, Any],
    progress: bool = True,
    run_options: RunOptions | None = None,
) -> bool:
    """Run the named suites; returns True when every gate, threshold and regression limit passed."""
    opts = run_options or RunOptions()
    thresholds = load_thresholds(opts.thresholds)
    baseline = load_baseline(opts.baseline) if opts.baseline else {}
    started_at = datetime.now(UTC)
    payloads: dict[str, dict[str, Any]] = {}
    results: dict[str, SuiteResult] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(enabled=progress) as bar:
        for name in names:
            suite_dir = out_dir if len(names) == 1 else out_dir / name
            suite_dir.mkdir(parents=True, exist_ok=True)
            ctx = SuiteContext(
                out_dir=suite_dir,
                settings=settings,
                options=options,
                show_progress=progress,
                repeat=opts.repeat,
                concurrency=opts.concurrency,
                limit=opts.limit,
                model_factory=opts.model_factory,
                reporter=bar,
            )
            started = time.perf_counter()
            result = run_suite(name, ctx)
            results[name] = result
            payloads[name] = write_outputs(
                result,
                suite_dir,
                time.perf_counter() - started,
                thresholds.get(name, {}),
                baseline.get(name) if opts.baseline else None,
            )
    passed = all(p["passed"] for p in payloads.values())
    summary = {
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "elapsed_s": round((datetime.now(UTC) - started_at).total_seconds(), 3),
        "suites": names,
        "repeat": opts.repeat,
        "concurrency": opts.concurrency,
        "limit": opts.limit,
        "endpoint": opts.endpoint,
        "baseline": str(opts.baseline) if opts.baseline else None,
        "thresholds_file": str(opts.thresholds),
        "host": platform.node(),
    }
    headline = {
        key: payload["metrics"][key]
        for payload in payloads.values()
        for key in HEADLINE
        if key in payload["metrics"]
    }
    if len(names) == 1:  # the suite's payload stays at the top, as single-suite callers read it
        combined = payloads[names[0]] | {"run": summary, **headline}
        combined["suites"] = {names[0]: {k: v for k, v in payloads[names[0]].items() if k != "items"}}
    else:
        combined = {"run": summary, "passed": passed, **headline, "suites": payloads}
    (out_dir / "results.json").write_text(json.dumps(combined, indent=2, ensure_ascii=False, default=str))
    from evals.report_html import write_report

    write_report(
        out_dir, summary, payloads, {n: (out_dir if len(names) == 1 else out_dir / n) for n in names}
    )
    return passed
