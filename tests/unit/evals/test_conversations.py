"""The conversations suite: scripted customers through the real app, scored on the database, pass^k."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agents.router import IntentChoice
from agents.service.schemas import BlockCardSlots, TransferSlots
from agents.service.words import amounts_in, ibans_in
from evals import runner
from evals.suites.conversations import DATASET, load_scenarios, pass_hat
from finagent.settings import Settings
from tests.fakes import FunctionChatModel


def careful(kind: str, messages: list[dict[str, str]], schema: Any) -> Any:
    """A model that reads each message right: slots from the words, answers copied from the passages."""
    text = messages[-1]["content"]
    if schema is IntentChoice:
        return {"intent": "question"}
    if schema is TransferSlots:
        payee = re.search(r"\bto ([A-Z][\w ]+?)(?:,| IBAN|$)|给(.+?)转账", text)
        name = (payee.group(1) or payee.group(2)).strip() if payee else "someone"
        amounts = sorted(amounts_in(text))
        return {"amount": float(amounts[-1]) if amounts else 1.0, "payee_name": name,
                "payee_iban": next(iter(ibans_in(text)), None)}  # fmt: skip
    if schema is BlockCardSlots:
        return {"card_type": "credit" if re.search(r"credit|信用卡", text) else "debit", "reason": "lost"}
    passages = messages[0]["content"].split("Passages:", 1)[-1]
    return re.sub(r"^\s*\[\d+\][^\n]*\n", "", passages.strip())[:300]


def test_pass_hat_k_is_the_chance_that_all_k_runs_pass() -> None:
    runs = {"a": [True, True, True], "b": [True, False, True], "c": [False, False, False]}
    assert pass_hat(runs, 1) == round((1 + 2 / 3 + 0) / 3, 4)
    assert pass_hat(runs, 3) == round(1 / 3, 4)
    assert pass_hat(runs, 2) == round((1 + 1 / 3) / 3, 4)


def test_scripted_conversations_are_scored_on_the_database_with_pass_hat_k(
    tmp_path: Path, eval_settings: Settings, app_options: dict[str, Any]
) -> None:
    chosen = {"cv-pay-01", "cv-pay-04", "cv-hold-01", "cv-card-02"}
    rows = [s.model_dump() for s in load_scenarios(DATASET) if s.id in chosen]
    rows.append(rows[0] | {"id": "cv-wrong", "expect": {"executed": [], "pending": [], "facts": []}})
    cases = tmp_path / "cv.jsonl"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    opts = runner.RunOptions(repeat=2, model_factory=lambda meter: FunctionChatModel(careful, meter))
    runner.run(["conversations"], out, eval_settings, app_options | {"conversations": cases},
               progress=False, run_options=opts)  # fmt: skip
    data = json.loads((out / "results.json").read_text())

    runs = data["suites"]["conversations"]
    assert runs["metrics"]["pass_hat_2"] == data["pass_hat_k"]
    failed = [(i.get("id"), i["split"]) for i in data["items"] if not i["passed"]]
    assert failed == [(None, "heldout"), (None, "heldout")]  # cv-wrong, both runs
    assert data["pass_hat_k"] == 0.8  # every real scenario passes both runs; cv-wrong never does
