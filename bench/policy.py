"""`finagent bench policy --out DIR`: screening latency, batch throughput, scorecard AUC and the
AMLSim external check. Writes DIR/results.json.

AMLSim amounts are simulated units, not euros, so the AMLSim run uses the default packs with
amount floors set to zero and skips rules that are defined by euro amounts (structuring, new
payee with a large amount, round amounts). Fan-in/fan-out rely on a euro total floor too: their
account figures are reported per rule and in a second configuration, not in the headline.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from finagent.settings import PROJECT_ROOT, Settings
from policies.actions import ActionRequest, CustomerContext, PastTransfer
from policies.schema import FanRule, NewPayeeLargeRule, RoundAmountRule, StructuringRule
from tools.batch_screening import Ledger, neutralise_amounts, screen_ledger
from tools.policy_engine import PolicyEngine, get_engine

AMLSIM_DIR = PROJECT_ROOT / "data" / "amlsim"


def _history(rng: random.Random, now: datetime, size: int) -> list[PastTransfer]:
    payees = [f"Payee {i}" for i in range(40)]
    out = []
    for _ in range(size):
        out.append(
            PastTransfer(
                at=now - timedelta(minutes=rng.randint(60, 90 * 24 * 60)),
                amount=Decimal(rng.randint(500, 300_000)) / 100,
                direction=rng.choice(["in", "out", "out"]),
                counterparty=rng.choice(payees),
            )
        )
    return sorted(out, key=lambda t: t.at)


def screening_latency(engine: PolicyEngine, runs: int = 2000, history_size: int = 250) -> dict[str, float]:
    rng = random.Random(7)
    now = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    customer = CustomerContext(
        customer_id="bench", name="Bench Customer", kyc_status="verified", risk_profile="C3",
        account_opened=date(2019, 1, 1), last_activity=date(2025, 6, 1),
    )  # fmt: skip
    history = _history(rng, now, history_size)
    known = [f"Payee {i}" for i in range(20)]
    requests = [
        ActionRequest(
            action="transfer",
            args={"amount": str(Decimal(rng.randint(100, 6_000_000)) / 100),
                  "payee_name": rng.choice([*known, "New Payee Ltd", "Li Weimin"]),
                  "payee_country": rng.choice(["DE", "DE", "FR", "NG"])},
            customer=customer, history=history, known_payees=known, now=now,
        )
        for _ in range(runs)
    ]  # fmt: skip
    for req in requests[:50]:  # warm caches
        engine.check_action(req)
    timings, cpu = [], []
    for req in requests:
        start, start_cpu = time.perf_counter(), time.thread_time()
        engine.check_action(req)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    cpu.sort()
    p99 = int(0.99 * len(timings)) - 1
    # Wall time is the target; CPU time is reported beside it because the dev machine is shared.
    return {
        "screening_p50_ms": round(statistics.median(timings), 3),
        "screening_p99_ms": round(timings[p99], 3),
        "screening_p99_cpu_ms": round(cpu[p99], 3),
        "screening_history_size": history_size,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def load_amlsim(folder: Path = AMLSIM_DIR) -> tuple[Ledger, set[int]]:
    tx = np.loadtxt(folder / "transactions.csv", delimiter=",", skiprows=1)
    ledger = Ledger(
        tx[:, 0].astype(np.int64), tx[:, 1].astype(np.int64), tx[:, 2], tx[:, 3] * 24.0
    )  # steps are days
    with (folder / "nodes.csv").open(newline="") as fh:
        suspicious = {int(r["nodeid"]) for r in csv.DictReader(fh) if r["isFraud"] == "1"}
    return ledger, suspicious


def _pr(alerted: set[int], truth: set[int]) -> dict[str, float]:
    tp = len(alerted & truth)
    return {
        "alerted": len(alerted),
        "precision": round(tp / len(alerted), 4) if alerted else 0.0,
        "recall": round(tp / len(truth), 4) if truth else 0.0,
    }


def amlsim_check(engine: PolicyEngine) -> dict[str, Any]:
    ledger, truth = load_amlsim()
    policies = neutralise_amounts(engine.policies)
    amount_defined = (StructuringRule, NewPayeeLargeRule, RoundAmountRule)
    headline = screen_ledger(policies, ledger, skip_kinds=(*amount_defined, FanRule))
    with_fan = screen_ledger(policies, ledger, skip_kinds=amount_defined)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        screen_ledger(policies, ledger, skip_kinds=amount_defined)
        runs.append(time.perf_counter() - start)
    return {
        "amlsim_transfers": len(ledger.src),
        "amlsim_suspicious_accounts": len(truth),
        "batch_tx_per_s": round(len(ledger.src) / statistics.median(runs)),
        "amlsim_recall": _pr(headline.alerted_accounts, truth)["recall"],
        "amlsim_precision": _pr(headline.alerted_accounts, truth)["precision"],
        "amlsim_alerted_accounts": len(headline.alerted_accounts),
        "amlsim_per_rule": {rid: _pr(acc, truth) for rid, acc in headline.account_alerts.items()},
        "amlsim_with_fan_rules": _pr(with_fan.alerted_accounts, truth)
        | {"per_rule": {rid: _pr(acc, truth) for rid, acc in with_fan.account_alerts.items()}},
    }


def scorecard_auc() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(
        "train_scorecard", PROJECT_ROOT / "scripts" / "train_scorecard.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, y = module.load(PROJECT_ROOT / "data" / "germancredit" / "germancredit.csv")
    folds = module.cross_validated_auc(rows, y)
    return {
        "scorecard_auc": round(float(np.mean(folds)), 4),
        "scorecard_auc_folds": [round(f, 4) for f in folds],
    }


def main(out_dir: Path, settings: Settings) -> dict[str, Any]:
    engine = get_engine(settings.policy_dir)
    results: dict[str, Any] = {"policy_version": engine.version, "finished_at": datetime.now(UTC).isoformat()}
    results |= screening_latency(engine)
    results |= amlsim_check(engine)
    results |= scorecard_auc()
    targets = {
        "screening_p99_ms": ("<=", 5.0), "batch_tx_per_s": (">=", 50_000), "scorecard_auc": (">=", 0.78),
        "amlsim_recall": (">=", 0.8),
    }  # fmt: skip
    results["targets_met"] = {
        k: (results[k] <= v if op == "<=" else results[k] >= v) for k, (op, v) in targets.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, dict)}, indent=2))
    return results
