"""The risk suite: the scorecard's fairness (tools/fairness.py; the gate fails when a demographic-parity
or equalised-odds difference exceeds its threshold in tools/models/fairness.yaml, or the YAML given as
the `fairness_config` option), and network analytics on AMLSim against the rules alone
(evals/suites/risk_network.py; reported, not gated)."""

from __future__ import annotations

from pathlib import Path

from evals.base import Gate, SuiteContext, SuiteResult


def run(ctx: SuiteContext) -> SuiteResult:
    from tools.fairness import FAIRNESS_CONFIG, FairnessConfig, credit_pack_cutoff, fairness_report

    config_path = Path(ctx.options.get("fairness_config") or FAIRNESS_CONFIG)
    report = fairness_report(
        FairnessConfig.from_yaml(config_path), credit_pack_cutoff(ctx.settings.policy_dir)
    )
    metrics: dict[str, float] = {"fairness_within_thresholds": float(report["passed"])}
    for metric in ("demographic_parity_difference", "equalized_odds_difference"):
        for variant, figures in report["variants"].items():
            for group, value in figures[metric].items():
                metrics[f"{metric}.{group}.{variant}"] = value
    lines = [f"Fairness of the scorecard's decisions on `{report['data']}`: {report['decision']}.", ""]
    lines += [
        f"- {'ok' if c['passed'] else '**over**'} {c['metric']} {c['group']}: "
        f"{c['value']:.3f} (max {c['max']})"
        for c in report["checks"]
    ]
    from evals.suites import risk_network
    from finagent.settings import PROJECT_ROOT

    network = risk_network.evaluate_cached(
        Path(ctx.options.get("amlsim") or PROJECT_ROOT / "data" / "amlsim"), ctx.settings.policy_dir
    )
    metrics |= {
        "network_precision": network["network"]["precision"],
        "network_recall": network["network"]["recall"],
        "rules_precision": network["rules"]["precision"],
        "rules_recall": network["rules"]["recall"],
        "network_precision_spread": network["spread_across_folds"]["network"]["precision"],
        "network_recall_spread": network["spread_across_folds"]["network"]["recall"],
    }
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    charts = [risk_network.chart(ctx.out_dir, network)]
    lines += risk_network.markdown(network)
    return SuiteResult(
        suite="risk",
        metrics=metrics,
        gates=[Gate(metric="fairness_within_thresholds", minimum=1.0)],
        items=report["checks"],
        extra={"fairness": report, "config": str(config_path), "network": network},
        report_md="\n".join(lines),
        charts=charts,
    )
