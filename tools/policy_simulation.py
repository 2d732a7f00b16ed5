"""Policy what-if: replay transfer history under the current and a proposed pack folder.

Each outgoing transfer is screened exactly as in real time, against that customer's previous
90 days, so compliance sees per rule how many hits a threshold change adds or removes and how
the approval queue would grow or shrink before the change is deployed.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from policies.actions import ActionRequest, CustomerContext, PastTransfer
from policies.verdict import Decision
from tools.policy_engine import PolicyEngine

HISTORY_DAYS = 90
REQUIRED_COLUMNS = {"customer_id", "at", "amount", "direction", "counterparty"}


class ReplayedTransfer(BaseModel):
    customer_id: str
    transfer: PastTransfer


def read_transactions(path: Path) -> list[ReplayedTransfer]:
    """CSV with customer_id, at (ISO 8601 with offset), amount, direction (in/out), counterparty,
    and optionally currency and counterparty_country."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                transfer = PastTransfer(
                    at=datetime.fromisoformat(row["at"]),
                    amount=Decimal(row["amount"]),
                    currency=row.get("currency") or "EUR",
                    direction=row["direction"],  # type: ignore[arg-type]
                    counterparty=row["counterparty"],
                    counterparty_country=row.get("counterparty_country") or "DE",
                )
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"{path}:{line}: {exc}") from exc
            rows.append(ReplayedTransfer(customer_id=row["customer_id"], transfer=transfer))
    return rows


class RuleDelta(BaseModel):
    rule_id: str
    current_hits: int
    proposed_hits: int

    @property
    def change(self) -> int:
        return self.proposed_hits - self.current_hits


class SimulationReport(BaseModel):
    current_version: str
    proposed_version: str
    transfers_screened: int
    decisions: dict[str, dict[str, int]]  # "current"/"proposed" -> decision -> count
    approval_queue_change: int
    rules: list[RuleDelta]
    changed_transfers: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        for rule in data["rules"]:
            rule["change"] = rule["proposed_hits"] - rule["current_hits"]
        return data


def _requests(rows: list[ReplayedTransfer]) -> list[tuple[ReplayedTransfer, ActionRequest]]:
    by_customer: dict[str, list[PastTransfer]] = defaultdict(list)
    for row in rows:
        by_customer[row.customer_id].append(row.transfer)
    out = []
    for customer_id, transfers in by_customer.items():
        transfers.sort(key=lambda t: t.at)
        opened: date = transfers[0].at.date() - timedelta(days=1)
        customer = CustomerContext(
            customer_id=customer_id, name=customer_id, kyc_status="verified", account_opened=opened
        )
        for i, t in enumerate(transfers):
            if t.direction != "out":
                continue
            start = t.at - timedelta(days=HISTORY_DAYS)
            history = [h for h in transfers[:i] if h.at > start]
            known = sorted(
                {
                    h.counterparty
                    for h in transfers[:i]
                    if h.direction == "out" and h.at <= t.at - timedelta(days=1)
                }
            )
            args = {"amount": str(t.amount), "currency": t.currency, "payee_name": t.counterparty,
                    "payee_country": t.counterparty_country}  # fmt: skip
            req = ActionRequest(
                action="transfer", args=args, customer=customer, history=history, known_payees=known, now=t.at
            )
            out.append((ReplayedTransfer(customer_id=customer_id, transfer=t), req))
    return out


def simulate(rows: list[ReplayedTransfer], current: PolicyEngine, proposed: PolicyEngine) -> SimulationReport:
    decisions: dict[str, Counter[str]] = {"current": Counter(), "proposed": Counter()}
    hits: dict[str, Counter[str]] = {"current": Counter(), "proposed": Counter()}
    changed: list[dict[str, Any]] = []
    for row, req in _requests(rows):
        verdicts = {"current": current.check_action(req), "proposed": proposed.check_action(req)}
        for side, verdict in verdicts.items():
            decisions[side][verdict.decision.value] += 1
            hits[side].update({r.rule_id for r in verdict.reasons})
        if verdicts["current"].decision != verdicts["proposed"].decision and len(changed) < 200:
            changed.append({
                "customer_id": row.customer_id, "at": row.transfer.at.isoformat(),
                "amount": str(row.transfer.amount),
                "payee": row.transfer.counterparty, "current": verdicts["current"].decision.value,
                "proposed": verdicts["proposed"].decision.value,
            })  # fmt: skip
    rule_ids = sorted(set(hits["current"]) | set(hits["proposed"]))
    queue = Decision.REQUIRE_APPROVAL.value
    return SimulationReport(
        current_version=current.version,
        proposed_version=proposed.version,
        transfers_screened=sum(decisions["current"].values()),
        decisions={side: {d.value: c[d.value] for d in Decision} for side, c in decisions.items()},
        approval_queue_change=decisions["proposed"][queue] - decisions["current"][queue],
        rules=[
            RuleDelta(rule_id=r, current_hits=hits["current"][r], proposed_hits=hits["proposed"][r])
            for r in rule_ids
        ],
        changed_transfers=changed,
    )


def render(report: SimulationReport) -> str:
    lines = [
        f"current : {report.current_version}",
        f"proposed: {report.proposed_version}",
        f"outgoing transfers screened: {report.transfers_screened}",
        "",
        f"{'decision':<18}{'current':>10}{'proposed':>10}{'change':>10}",
    ]
    for d in Decision:
        cur, new = report.decisions["current"][d.value], report.decisions["proposed"][d.value]
        lines.append(f"{d.value:<18}{cur:>10}{new:>10}{new - cur:>+10}")
    lines += ["", f"{'rule':<18}{'current':>10}{'proposed':>10}{'change':>10}"]
    for r in report.rules:
        lines.append(f"{r.rule_id:<18}{r.current_hits:>10}{r.proposed_hits:>10}{r.change:>+10}")
    lines += ["", f"approval queue change: {report.approval_queue_change:+d} items"]
    return "\n".join(lines)
