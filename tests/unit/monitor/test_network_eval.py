"""The time-ordered evaluation on a small AMLSim-shaped ledger with planted laundering: thresholds are
tuned on earlier days only, and the risk suite reports network_precision / network_recall with a chart."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from evals.suites.risk_network import evaluate

PACKS = Path(__file__).resolve().parents[3] / "policies" / "packs"


@pytest.fixture(scope="module")
def amlsim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 ordinary accounts paying each other at random; every 5 days a fresh ring of four suspicious
    accounts moves money round a cycle, one pair of them paying twice."""
    rng = random.Random(3)
    folder = tmp_path_factory.mktemp("amlsim")
    rows, fraud = [], set()
    for day in range(1, 151):
        for _ in range(12):
            a, b = rng.sample(range(600), 2)
            rows.append((a, b, round(rng.uniform(100, 600), 2), day))
    ring_id = 1000
    for day in range(3, 150, 5):
        ring = list(range(ring_id, ring_id + 4))
        ring_id += 4
        fraud |= set(ring)
        for i, a in enumerate(ring):
            rows.append((a, ring[(i + 1) % 4], 50.0 - i, day + i * 0.0))
        rows.append((ring[0], ring[1], 40.0, day))
        rows.append((ring[2], rng.randrange(600), 300.0, day))  # ordinary business too
    rows.sort(key=lambda r: r[3])
    (folder / "transactions.csv").write_text(
        "sourceNodeId,targetNodeId,value,time\n" + "".join(f"{a},{b},{v},{t}\n" for a, b, v, t in rows)
    )
    accounts = range(ring_id)
    (folder / "nodes.csv").write_text(
        "nodeid,isFraud,init_balance,fraudStep\n"
        + "".join(f"{n},{int(n in fraud)},100,-1\n" for n in accounts)
    )
    return folder


def test_planted_rings_are_found_in_later_periods_with_thresholds_from_earlier(amlsim: Path) -> None:
    report = evaluate(amlsim, PACKS)
    assert [f["test_days"] for f in report["folds"]] == [[60.0, 90.0], [90.0, 120.0], [120.0, 150.0]]
    for fold in report["folds"]:
        assert "cycle" in fold["thresholds"] or "repeated_pair" in fold["thresholds"]
        assert fold["network"]["recall"] == 1.0  # every ring member in the test period
        assert (
            fold["network"]["precision"] >= 0.7
        )  # the ring's onward payment to an ordinary account is a hop
    assert report["network"]["recall"] > report["rules"]["recall"]  # rules see the repeated pair only


def test_the_risk_suite_reports_network_figures_and_a_chart(amlsim: Path, tmp_path: Path) -> None:
    from evals.base import SuiteContext
    from evals.suites import risk
    from finagent.settings import Settings

    ctx = SuiteContext(
        tmp_path, Settings(data_dir=tmp_path, environment="test"), {"amlsim": amlsim}, show_progress=False
    )
    result = risk.run(ctx)
    assert 0.7 <= result.metrics["network_precision"] <= 1.0 and result.metrics["network_recall"] == 1.0
    assert (tmp_path / "network_folds.png").stat().st_size > 0 and result.charts == ["network_folds.png"]
    assert "| 60-90 |" in result.report_md
