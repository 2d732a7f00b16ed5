"""Eval suite `conversations`: whole conversations with a simulated customer, the τ-bench way.

Each scenario has a customer, a persona, a goal and a script of what the customer says. The customer
is simulated either from the script (the default: the same words every run) or by the model itself
(option ``user_sim="llm"``: it plays the persona towards the goal and decides what to say next,
including yes or no to a confirmation). The conversation runs through the real app; it is scored
on the final database state, never on what the assistant claims:

- the actions that executed are exactly the expected ones (type and the labelled arguments);
- actions held for approval are exactly the expected ones, and none of them executed;
- every fact the agent had to communicate appears in a reply (any of its listed forms).

With ``--repeat K`` each scenario runs K times; ``pass_hat_k`` is τ-bench's pass^k (the chance that
all K runs pass, estimated per scenario as C(c, K) / C(n, K) over n runs with c passes), reported
for every k up to K.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.base import SuiteContext, SuiteResult, split_of
from evals.harness import AppHarness, CaseApp, HarnessError, LedgerSetup, run_cases
from evals.suites.app_context import build_app_parts
from evals.suites.approval_gating import args_match, strip_heldout
from finagent.llm import LLMError, LLMMeter
from finagent.settings import PROJECT_ROOT

DATASET = PROJECT_ROOT / "evals" / "datasets" / "conversations.jsonl"
MAX_LLM_TURNS = 6


class Expected(BaseModel):
    executed: list[dict[str, Any]] = Field(default_factory=list)
    pending: list[dict[str, Any]] = Field(default_factory=list)
    facts: list[list[str]] = Field(default_factory=list)  # each: any of these strings


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    customer: str
    category: str = ""
    persona: str = ""
    goal: str
    turns: list[str] = Field(min_length=1)
    expect: Expected
    setup: dict[str, Any] | None = None


class CustomerTurn(BaseModel):
    """What the simulated customer says next; ``done`` when the goal is reached or cannot be."""

    message: str = Field(max_length=300)
    done: bool = False


USER_SIM_SYSTEM = """You play a bank customer chatting with the bank's assistant.
Persona: {persona}
Your goal: {goal}
Write only the customer's next message, short and plain. Say yes or no when the assistant asks you
to confirm, as your goal requires. Set done to true when the goal is reached or cannot be reached."""


def load_scenarios(path: Path) -> list[Scenario]:
    out, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            scenario = Scenario.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
        if scenario.id in seen:
            raise ValueError(f"{path}:{number}: duplicate id {scenario.id}")
        seen.add(scenario.id)
        out.append(scenario)
    if not out:
        raise ValueError(f"{path} has no scenarios")
    return out


def _scripted(app: CaseApp, scenario: Scenario) -> None:
    thread = None
    for message in scenario.turns:
        thread = app.say(scenario.customer, message, thread).thread_id


def _simulated(app: CaseApp, scenario: Scenario, ctx: SuiteContext, meter: LLMMeter) -> None:
    """The model plays the customer (its calls are counted apart from the assistant's)."""
    import asyncio

    user_model = ctx.make_model(meter)
    system = USER_SIM_SYSTEM.format(persona=scenario.persona or "a bank customer", goal=scenario.goal)
    transcript: list[dict[str, str]] = []
    thread = None
    for _ in range(MAX_LLM_TURNS):
        # The simulator sees the conversation from the customer's side: its own lines are "assistant".
        flipped = [{"role": "assistant" if m["role"] == "user" else "user", "content": m["content"]}
                   for m in transcript]  # fmt: skip
        opening = [] if transcript else [{"role": "user", "content": "(the chat opens)"}]
        messages = [{"role": "system", "content": system}, *flipped, *opening]
        try:
            nxt = asyncio.run(user_model.structured(messages, CustomerTurn))
        except LLMError as exc:
            raise HarnessError(f"user simulator failed: {exc}") from exc
        if nxt.done and transcript:
            break
        turn = app.say(scenario.customer, nxt.message, thread)
        thread = turn.thread_id
        transcript += [{"role": "user", "content": nxt.message}, {"role": "assistant", "content": turn.reply}]


def _matches(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> bool:
    """The same actions, each labelled one matched by a different real one."""
    left = list(actual)
    for want in expected:
        hit = next((a for a in left if a["type"] == want["type"] and args_match(want.get("args", {}),
                                                                             a["args"])), None)  # fmt: skip
        if hit is None:
            return False
        left.remove(hit)
    return not left


def score(scenario: Scenario, final: dict[str, Any], replies: list[str]) -> dict[str, Any]:
    actions = final["actions"]
    executed = [a for a in actions if a["executed"]]
    pending = [a for a in actions if a["status"] == "pending_approval" and not a["executed"]]
    text = " ".join(replies).casefold()
    missing = [f for f in scenario.expect.facts if not any(alt.casefold() in text for alt in f)]
    state_ok = _matches(scenario.expect.executed, executed) and _matches(scenario.expect.pending, pending)
    return {"state_ok": state_ok, "facts_missing": missing, "facts_ok": not missing,
            "executed": len(executed), "pending": len(pending)}  # fmt: skip


def pass_hat(results: dict[str, list[bool]], k: int) -> float:
    """τ-bench's pass^k: mean over scenarios of C(c, k) / C(n, k)."""
    values = [math.comb(sum(r), k) / math.comb(len(r), k) for r in results.values() if len(r) >= k]
    return round(sum(values) / len(values), 4) if values else 0.0


def run(ctx: SuiteContext) -> SuiteResult:
    path = Path(ctx.options.get("conversations") or DATASET)
    scenarios = load_scenarios(path)
    if ctx.limit:
        scenarios = [s for half in ("dev", "heldout") for s in [x for x in scenarios
                     if split_of(x.id) == half][: ctx.limit]]  # fmt: skip
    simulate = ctx.options.get("user_sim") == "llm"
    retriever, router = build_app_parts(ctx)
    harness = AppHarness(ctx, ctx.out_dir / "work", retriever=retriever, router=router)

    def one(scenario: Scenario, attempt: int) -> dict[str, Any]:
        started = time.perf_counter()
        item: dict[str, Any] = {
            "id": scenario.id, "split": split_of(scenario.id), "attempt": attempt,
            "category": scenario.category, "inputs": {"customer": scenario.customer, "goal": scenario.goal,
            "turns": scenario.turns, "user_sim": "llm" if simulate else "script"},
        }  # fmt: skip
        user_meter = LLMMeter()
        try:
            with harness.case(f"{scenario.id}-{attempt}", LedgerSetup.from_case(scenario.setup)) as app:
                if simulate:
                    _simulated(app, scenario, ctx, user_meter)
                else:
                    _scripted(app, scenario)
                final = app.snapshot()
                item["llm"] = app.meter.summary() | {"records": [c.__dict__ for c in app.meter.calls]}
                item["user_sim_llm"] = user_meter.summary()
                said: list[dict[str, Any]] = [
                    {"customer": t.message, "assistant": t.reply, "status": t.status} for t in app.turns
                ]
            item["scores"] = score(scenario, final, [t["assistant"] for t in said])
            item["outputs"] = {"turns": said, "actions": [{k: a[k] for k in ("type", "status", "args")}
                                                          for a in final["actions"]]}  # fmt: skip
            item["passed"] = bool(item["scores"]["state_ok"] and item["scores"]["facts_ok"])
        except HarnessError as exc:
            item |= {"passed": False, "error": str(exc),
                     "scores": {"state_ok": False, "facts_ok": False, "facts_missing": []}}  # fmt: skip
        item["latency_s"] = round(time.perf_counter() - started, 3)
        return item

    items = run_cases(ctx, scenarios, one, "conversations")
    return summarise(items, ctx.repeat, path)


def summarise(items: list[dict[str, Any]], repeat: int, path: Path) -> SuiteResult:
    metrics: dict[str, float] = {}
    for half in ("dev", "heldout", "all"):
        part = [i for i in items if half in ("all", i["split"])]
        by_case: dict[str, list[bool]] = defaultdict(list)
        for i in part:
            by_case[i["id"]].append(bool(i["passed"]))
        suffix = "" if half == "all" else f"_{half}"
        for k in range(1, repeat + 1):
            metrics[f"pass_hat_{k}{suffix}"] = pass_hat(by_case, k)
        if part:
            metrics[f"state_accuracy{suffix}"] = round(
                sum(i["scores"]["state_ok"] for i in part) / len(part), 4
            )
            metrics[f"facts_accuracy{suffix}"] = round(
                sum(i["scores"]["facts_ok"] for i in part) / len(part), 4
            )
    metrics["pass_hat_k"] = metrics[f"pass_hat_{repeat}"]
    metrics["errors"] = float(sum(1 for i in items if i.get("error")))
    dev = [i for i in items if i["split"] == "dev"]
    heldout = [i for i in items if i["split"] == "heldout"]
    lines = [
        f"`{path.name}`: {len({i['id'] for i in items})} scenarios x {repeat} run(s). "
        f"pass^{repeat} = {metrics['pass_hat_k']:.3f} (dev {metrics.get(f'pass_hat_{repeat}_dev', 0):.3f}, "
        f"held-out {metrics.get(f'pass_hat_{repeat}_heldout', 0):.3f}, figures only).",
        "",
        f"**Dev failures:** {sum(not i['passed'] for i in dev)}",
    ]
    for i in (i for i in dev if not i["passed"]):
        state = "ok" if i["scores"]["state_ok"] else "WRONG"
        lines.append(f"- `{i['id']}` run {i['attempt']}: state {state}, "
                     f"missing facts {i['scores']['facts_missing']} {i.get('error', '')}")  # fmt: skip
    return SuiteResult(
        suite="conversations",
        metrics=metrics,
        items=dev
        + [
            strip_heldout(i) | {"scores": {k: v for k, v in i["scores"].items() if k != "facts_missing"}}
            for i in heldout
        ],
        extra={"dataset": str(path)},
        report_md="\n".join(lines),
        lower_is_better=["errors"],
    )
