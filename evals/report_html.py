"""`DIR/report.html`: one self-contained page (inline CSS, charts as base64 PNG) that a team lead
reads: the verdict, per-suite metrics and charts, the worst cases, and the diff against the baseline.

Held-out cases carry no text or id in the suites' items, so nothing here can show one.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#1d232b;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #d7dce2;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}table{border-collapse:collapse;margin:8px 0 16px;width:100%}
td,th{border:1px solid #d7dce2;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f3f5f7}.pass{color:#17733a;font-weight:600}.fail{color:#b42318;font-weight:600}
.reg{background:#fdecea}.imp{background:#e8f5ec}.muted{color:#6b7580}
code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;margin:0;max-height:160px;overflow:auto}
img{max-width:100%;border:1px solid #eef0f2;margin:6px 0}.badge{padding:2px 8px;border-radius:10px}
.badge.pass{background:#e8f5ec}.badge.fail{background:#fdecea}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=96)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _charts(payload: dict[str, Any]) -> list[str]:
    """Generic charts for any suite: its rates, per-category pass/fail, and case latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    rates = {k: v for k, v in payload["metrics"].items() if isinstance(v, int | float) and 0 <= v <= 1}
    rates = dict(list(rates.items())[:24])
    if rates:
        fig, ax = plt.subplots(figsize=(9, 0.28 * len(rates) + 1))
        names = list(rates)[::-1]
        lower = set(payload.get("lower_is_better") or [])
        colors = ["#b42318" if n in lower else "#2f6db5" for n in names]
        ax.barh(names, [rates[n] for n in names], color=colors)
        ax.set_xlim(0, 1.05)
        ax.set_title(f"{payload['suite']}: rates (red: lower is better)")
        ax.tick_params(axis="y", labelsize=8)
        out.append(_png(fig))
    cases = [i for i in payload.get("items") or [] if isinstance(i, dict) and "passed" in i]
    by_cat: dict[str, Counter[bool]] = {}
    for item in cases:
        by_cat.setdefault(str(item.get("category") or "all"), Counter())[bool(item["passed"])] += 1
    if len(by_cat) > 1 or (cases and by_cat):
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(by_cat) + 1.2))
        cats = sorted(by_cat)
        ax.barh(cats, [by_cat[c][True] for c in cats], color="#17733a", label="pass")
        ax.barh(cats, [by_cat[c][False] for c in cats], left=[by_cat[c][True] for c in cats],
                color="#b42318", label="fail")  # fmt: skip
        ax.set_title(f"{payload['suite']}: cases by category")
        ax.legend(loc="lower right", fontsize="small")
        out.append(_png(fig))
    latencies = [float(i["latency_s"]) for i in cases if isinstance(i.get("latency_s"), int | float)]
    if latencies:
        fig, ax = plt.subplots(figsize=(9, 2.6))
        ax.hist(latencies, bins=min(30, max(5, len(latencies) // 3)), color="#6b7580")
        ax.set_title(f"{payload['suite']}: latency per case (s)")
        ax.set_xlabel("seconds")
        out.append(_png(fig))
    return out


def _metrics_table(payload: dict[str, Any]) -> str:
    gates = {g["metric"]: g for g in payload.get("gates") or []}
    thresholds = payload.get("thresholds") or {}
    failing = {f["metric"] for f in payload.get("threshold_failures") or []}
    failing |= {g["metric"] for g in payload.get("failed_gates") or []}
    rows = []
    for metric, value in payload["metrics"].items():
        limits = []
        if metric in gates:
            g = gates[metric]
            limits += [
                f"≥ {g['minimum']}" if "minimum" in g else "",
                f"≤ {g['maximum']}" if "maximum" in g else "",
            ]
        t = thresholds.get(metric) or {}
        limits += [f"≥ {t['min']}" if "min" in t else "", f"≤ {t['max']}" if "max" in t else ""]
        if "max_regression" in t:
            limits.append(f"worsens ≤ {t['max_regression']}")
        status = '<span class="fail">FAIL</span>' if metric in failing else ""
        shown = f"{value:.4f}" if isinstance(value, float) else _e(value)
        rows.append(f"<tr><td>{_e(metric)}</td><td>{shown}</td><td>{_e(', '.join(x for x in limits if x))}"
                    f"</td><td>{status}</td></tr>")  # fmt: skip
    return "<table><tr><th>metric</th><th>value</th><th>limit</th><th></th></tr>" + "".join(rows) + "</table>"


def _diff_table(payload: dict[str, Any]) -> str:
    diff = payload.get("baseline_diff") or []
    if not diff:
        return ""
    rows = []
    for r in diff:
        cls = "reg" if r["regression"] else ("imp" if r["delta"] else "")
        mark = "regression" + (" (gating)" if r["gating"] else "") if r["regression"] else ""
        rows.append(f'<tr class="{cls}"><td>{_e(r["metric"])}</td><td>{r["baseline"]:.4f}</td>'
                    f'<td>{r["current"]:.4f}</td><td>{r["delta"]:+.4f}</td><td>{mark}</td></tr>')  # fmt: skip
    regressions = sum(1 for r in diff if r["regression"])
    return (
        f"<h3>Against the baseline: {regressions} regression(s)</h3><table><tr><th>metric</th>"
        "<th>baseline</th><th>now</th><th>change</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + " …"


def _worst(payload: dict[str, Any], count: int = 12) -> str:
    cases = [i for i in payload.get("items") or [] if isinstance(i, dict) and "passed" in i and "id" in i]
    if not cases:
        return ""
    cases.sort(key=lambda i: (bool(i["passed"]), -float(i.get("latency_s") or 0)))
    rows = []
    for i in cases[:count]:
        status = '<span class="pass">pass</span>' if i["passed"] else '<span class="fail">fail</span>'
        rows.append(
            f"<tr><td><code>{_e(i['id'])}</code><br>"
            f"<span class='muted'>{_e(i.get('category', ''))}</span></td>"
            f"<td>{status}</td><td><pre>{_e(_short(i.get('inputs', '')))}</pre></td>"
            f"<td><pre>{_e(_short(i.get('outputs', '')))}</pre></td>"
            f"<td><pre>{_e(_short(i.get('scores', ''), 300))}</pre></td>"
            f"<td>{_e(i.get('latency_s', ''))}</td><td>{_e((i.get('llm') or {}).get('calls', ''))}</td></tr>"
        )
    return (
        "<h3>Worst cases (failures first, then the slowest; dev half only)</h3><table><tr><th>case</th>"
        "<th></th><th>inputs</th><th>outputs</th><th>scores</th><th>s</th><th>LLM calls</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _suite_section(name: str, payload: dict[str, Any], folder: Path) -> str:
    badge = "pass" if payload["passed"] else "fail"
    parts = [f'<h2 id="{_e(name)}">{_e(name)} <span class="badge {badge}">{badge.upper()}</span></h2>']
    llm = payload.get("llm") or {}
    parts.append(
        f"<p class='muted'>{payload['elapsed_s']:.1f} s"
        + (
            f"; LLM calls {llm['calls']}, prompt tokens {llm['prompt_tokens']}, completion tokens "
            f"{llm['completion_tokens']}"
            if llm
            else ""
        )
        + "</p>"
    )
    parts.append(_metrics_table(payload))
    parts.append(_diff_table(payload))
    parts += [f'<img alt="{_e(name)} chart" src="{src}">' for src in _charts(payload)]
    for chart in payload.get("charts") or []:
        path = folder / chart
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<img alt="{_e(chart)}" src="data:image/png;base64,{data}">')
    parts.append(_worst(payload))
    return "\n".join(p for p in parts if p)


def write_report(
    out_dir: Path, run: dict[str, Any], payloads: dict[str, dict[str, Any]], folders: dict[str, Path]
) -> Path:
    passed = all(p["passed"] for p in payloads.values())
    summary_rows = "".join(
        f'<tr><td><a href="#{_e(n)}">{_e(n)}</a></td><td class="{"pass" if p["passed"] else "fail"}">'
        f"{'PASS' if p['passed'] else 'FAIL'}</td><td>{len(p.get('regressions') or [])}</td>"
        f"<td>{_e(', '.join(f['metric'] for f in p.get('threshold_failures') or []))}</td></tr>"
        for n, p in payloads.items()
    )
    endpoint = run.get("endpoint") or {}
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>finagent eval report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>finagent eval: <span class='{'pass' if passed else 'fail'}'>"
        f"{'PASS' if passed else 'FAIL'}</span></h1>",
        f"<p class='muted'>{_e(run['started_at'])} · {run['elapsed_s']:.0f} s · "
        f"model {_e(endpoint.get('model', ''))}"
        f" at {_e(endpoint.get('base_url', ''))} · repeat {run['repeat']} · concurrency {run['concurrency']}"
        + (f" · baseline {_e(run['baseline'])}" if run.get("baseline") else "")
        + (f" · fast subset of {run['limit']} case(s) per half" if run.get("limit") else "")
        + "</p>",
        "<table><tr><th>suite</th><th>result</th><th>regressions</th><th>thresholds failed</th></tr>"
        + summary_rows
        + "</table>",
    ]
    body += [_suite_section(n, p, folders[n]) for n, p in payloads.items()]
    body.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(body), encoding="utf-8")
    return path
