"""Drives the real application in-process for the suites that judge behaviour end to end.

Each case gets its own copy of a migrated, seeded SQLite database and its own app: the real HTTP API
(FastAPI's TestClient), the real graph, policy packs, router and retriever. Only the model comes from
the suite context (the configured endpoint, or a scripted fake in unit tests), wrapped so that every
call is counted. After the case the suite reads the database itself: what executed is whatever the
``actions`` and ``executions`` tables say, whichever agent proposed it, never what a reply claims.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from evals.base import SuiteContext
from finagent.llm import LLMMeter
from finagent.models import (
    Account,
    Action,
    ApprovalDecision,
    Card,
    Customer,
    Execution,
    Message,
    Payee,
    Transfer,
    WorkItem,
    utcnow,
)
from finagent.settings import Settings

T = TypeVar("T")
C = TypeVar("C")
DEMO_PASSWORD = "{user}-demo"  # finagent.seed's demo users; the eval databases are throwaway copies
OFFICERS = ("ana", "ben")
# Alembic's command API keeps module-level state: apps starting in parallel threads take turns.
_STARTUP = threading.Lock()


class HarnessError(RuntimeError):
    """The app did not answer the way the API promises (a 4xx/5xx, a stream without a message)."""


@dataclass
class Turn:
    """One exchange as the customer saw it."""

    user: str
    message: str
    reply: str
    status: str | None
    action: dict[str, Any] | None
    events: list[tuple[str, dict[str, Any]]]
    thread_id: str
    latency_s: float


def _sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    import json

    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data") or "{}")))
    return events


class CaseApp:
    """The app for one case: chat as a customer, decide as an officer, read the database."""

    def __init__(self, settings: Settings, client: Any, meter: LLMMeter, db_path: Path) -> None:
        self.settings, self.client, self.meter, self.db_path = settings, client, meter, db_path
        self._tokens: dict[str, dict[str, str]] = {}
        self.turns: list[Turn] = []
        self._engine = create_engine(f"sqlite:///{db_path}")

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            r = self.client.post(
                "/api/auth/login", json={"username": user, "password": DEMO_PASSWORD.format(user=user)}
            )
            if r.status_code != 200:
                raise HarnessError(f"login {user}: {r.status_code} {r.text[:200]}")
            self._tokens[user] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self._tokens[user]

    def _turn(self, user: str, message: str, path: str, body: dict[str, Any]) -> Turn:
        started = time.perf_counter()
        r = self.client.post(path, json=body, headers=self.headers(user))
        if r.status_code != 200:
            raise HarnessError(f"{path}: {r.status_code} {r.text[:300]}")
        events = _sse(r.text)
        final = next((data for name, data in events if name == "message"), None)
        error = next((data for name, data in events if name == "error"), None)
        thread_id = next((data["thread_id"] for name, data in events if name == "thread"), "")
        turn = Turn(
            user=user,
            message=message,
            reply=(final or {}).get("content", "") if final else (error or {}).get("message", ""),
            status=(final or {}).get("status") if final else "error",
            action=(final or {}).get("action"),
            events=events,
            thread_id=thread_id or body.get("thread_id") or "",
            latency_s=round(time.perf_counter() - started, 4),
        )
        self.turns.append(turn)
        return turn

    def say(self, user: str, message: str, thread_id: str | None = None) -> Turn:
        return self._turn(user, message, "/api/chat", {"message": message, "thread_id": thread_id})

    def confirm(self, user: str, turn: Turn, yes: bool = True) -> Turn:
        if not turn.action:
            raise HarnessError("nothing to confirm")
        body = {"thread_id": turn.thread_id, "action_id": turn.action["action_id"], "confirm": yes}
        return self._turn(user, "Confirm" if yes else "Cancel", "/api/chat/confirm", body)

    def pending_items(self) -> list[dict[str, Any]]:
        r = self.client.get("/api/approvals", headers=self.headers(OFFICERS[0]))
        if r.status_code != 200:
            raise HarnessError(f"/api/approvals: {r.status_code}")
        items: list[dict[str, Any]] = r.json()
        return items

    def decide(self, officer: str, item_id: int, decision: str = "approve") -> dict[str, Any]:
        """Claim and decide an item as an officer would in the console."""
        headers = self.headers(officer)
        r = self.client.post(f"/api/approvals/{item_id}/claim", headers=headers)
        if r.status_code != 200:
            raise HarnessError(f"claim {item_id}: {r.status_code} {r.text[:200]}")
        code = "VERIFIED_WITH_CUSTOMER" if decision == "approve" else "SUSPECTED_FRAUD"
        r = self.client.post(
            f"/api/approvals/{item_id}/decision",
            json={"decision": decision, "reason_code": code, "note": "eval"},
            headers=headers,
        )
        if r.status_code != 200:
            raise HarnessError(f"decide {item_id}: {r.status_code} {r.text[:200]}")
        result: dict[str, Any] = r.json()
        return result

    def snapshot(self) -> dict[str, Any]:
        """The database as the suites judge it: every action and what became of it."""
        with Session(self._engine) as s:
            actions = s.scalars(select(Action).order_by(Action.created_at)).all()
            executions = {e.action_id: e for e in s.scalars(select(Execution)).all()}
            items = {
                i.subject_id: i for i in s.scalars(select(WorkItem).where(WorkItem.kind == "approval")).all()
            }
            decisions: dict[int, list[ApprovalDecision]] = {}
            for d in s.scalars(select(ApprovalDecision).order_by(ApprovalDecision.id)).all():
                decisions.setdefault(d.item_id, []).append(d)
            rows = []
            for a in actions:
                item = items.get(a.id)
                execution = executions.get(a.id)
                rows.append({
                    "action_id": a.id, "customer_id": a.customer_id, "type": a.type, "args": a.args,
                    "status": a.status, "verdict": (a.verdict or {}).get("decision"),
                    "approvers_required": (a.verdict or {}).get("approvers_required"),
                    "rules": [r.get("rule_id") for r in (a.verdict or {}).get("reasons") or []
                              if r.get("decision") != "ALLOW"],
                    "executed": execution is not None,
                    "executed_at": execution.at.isoformat() if execution else None,
                    "approval_item": None if item is None else {
                        "status": item.status, "approvals_needed": item.approvals_needed,
                        "approvals": sorted({d.approver for d in decisions.get(item.id, [])
                                             if d.decision == "approve"}),
                        "approved_before_execution": bool(
                            item.decided_at and execution
                            and _aware(item.decided_at) <= _aware(execution.at)),
                    },
                })  # fmt: skip
            return {
                "actions": rows,
                "cards": {c.id: c.status for c in s.scalars(select(Card)).all()},
                "balances": {a.id: str(a.balance) for a in s.scalars(select(Account)).all()},
                "customers": {c.id: c.name for c in s.scalars(select(Customer)).all()},
                "accounts": [
                    {"id": a.id, "customer_id": a.customer_id, "iban": a.iban, "balance": str(a.balance)}
                    for a in s.scalars(select(Account)).all()
                ],
                "cards_owned": [
                    {"id": c.id, "customer_id": c.customer_id, "last4": c.last4}
                    for c in s.scalars(select(Card)).all()
                ],
                "payees": [(p.customer_id, p.name, p.iban) for p in s.scalars(select(Payee)).all()],
                "assistant_messages": [
                    m.content for m in s.scalars(select(Message).where(Message.role == "assistant")).all()
                ],
            }

    def close(self) -> None:
        self._engine.dispose()


def _aware(value: Any) -> Any:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class LedgerSetup:
    """What a case needs in the ledger before it starts (past transfers, payees, balances, customers'
    details), written into the case's own database copy."""

    transfers: list[dict[str, Any]] = field(default_factory=list)
    payees: list[dict[str, Any]] = field(default_factory=list)
    balances: dict[str, str] = field(default_factory=dict)  # account id -> balance
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # customer id -> column values
    clear_history: list[str] = field(default_factory=list)  # customers whose past transfers are removed

    @classmethod
    def from_case(cls, raw: dict[str, Any] | None) -> LedgerSetup:
        raw = raw or {}
        return cls(
            transfers=list(raw.get("transfers") or []),
            payees=list(raw.get("payees") or []),
            balances=dict(raw.get("balances") or {}),
            customers=dict(raw.get("customers") or {}),
            clear_history=list(raw.get("clear_history") or []),
        )

    def apply(self, db_path: Path) -> None:
        engine = create_engine(f"sqlite:///{db_path}")
        now = utcnow()
        try:
            with Session(engine) as s:
                accounts = {a.customer_id: a for a in s.scalars(select(Account)).all()}
                if self.clear_history:
                    s.execute(delete(Transfer).where(Transfer.customer_id.in_(self.clear_history)))
                for t in self.transfers:
                    customer = t.get("customer_id", "cust-001")
                    s.add(Transfer(
                        customer_id=customer, account_id=accounts[customer].id,
                        direction=t.get("direction", "out"), amount=Decimal(str(t["amount"])),
                        currency=t.get("currency", "EUR"), counterparty=t["counterparty"],
                        counterparty_country=t.get("country", "DE"),
                        at=now - timedelta(hours=float(t.get("hours_ago", 1))),
                    ))  # fmt: skip
                for p in self.payees:
                    s.add(Payee(customer_id=p.get("customer_id", "cust-001"), name=p["name"],
                                iban=p.get("iban"), country=p.get("country", "DE")))  # fmt: skip
                for account_id, balance in self.balances.items():
                    account = s.get(Account, account_id)
                    if account is None:
                        raise HarnessError(f"setup: no account {account_id}")
                    account.balance = Decimal(balance)
                for customer_id, values in self.customers.items():
                    customer = s.get(Customer, customer_id)
                    if customer is None:
                        raise HarnessError(f"setup: no customer {customer_id}")
                    for key, value in values.items():
                        if key in ("account_opened", "last_activity") and isinstance(value, int | float):
                            value = (now - timedelta(days=float(value))).date()  # days ago
                        setattr(customer, key, value)
                s.commit()
        finally:
            engine.dispose()


class AppHarness:
    """Builds the seeded template database once, then an app per case on a copy of it."""

    def __init__(self, ctx: SuiteContext, work_dir: Path, *, retriever: Any, router: Any) -> None:
        self.ctx, self.work_dir, self.retriever, self.router = ctx, work_dir, retriever, router
        self.template = work_dir / "template" / "finagent.db"
        self._prepare_template()

    def _settings(self, data_dir: Path) -> Settings:
        return self.ctx.settings.model_copy(
            update={
                "data_dir": data_dir,
                "database_url": f"sqlite+aiosqlite:///{data_dir / 'finagent.db'}",
                "environment": "test",
                "seed_demo_data": True,
                "redis_url": None,
            }
        )

    def _prepare_template(self) -> None:
        from finagent.db import make_engine, make_sessionmaker, upgrade
        from finagent.seed import seed_demo_data

        if self.template.parent.exists():
            shutil.rmtree(self.template.parent)
        self.template.parent.mkdir(parents=True)
        settings = self._settings(self.template.parent)
        upgrade(settings)

        async def seed() -> None:
            engine = make_engine(settings.database)
            try:
                await seed_demo_data(make_sessionmaker(engine))
            finally:
                await engine.dispose()

        asyncio.run(seed())

    @contextmanager
    def case(self, case_id: str, setup: LedgerSetup | None = None) -> Iterator[CaseApp]:
        from fastapi.testclient import TestClient

        from server import create_app

        data_dir = self.work_dir / "cases" / f"{case_id}-{uuid.uuid4().hex[:8]}"
        data_dir.mkdir(parents=True)
        db_path = data_dir / "finagent.db"
        shutil.copy(self.template, db_path)
        if setup is not None:
            setup.apply(db_path)
        settings = self._settings(data_dir)
        meter = LLMMeter()
        model = self.ctx.make_model(meter)
        app = create_app(settings, llm=model, retriever=self.retriever, router=self.router)
        client = TestClient(app)
        with _STARTUP:
            client.__enter__()
        case_app = CaseApp(settings, client, meter, db_path)
        try:
            yield case_app
        finally:
            closing = getattr(model, "aclose", None)
            if closing is not None and client.portal is not None:  # on the app's loop, before it closes
                client.portal.call(closing)
            client.__exit__(None, None, None)
            case_app.close()
            if not self.ctx.options.get("keep_case_data"):
                shutil.rmtree(data_dir, ignore_errors=True)


def run_cases(ctx: SuiteContext, cases: list[C], run_one: Callable[[C, int], T], desc: str) -> list[T]:
    """Each case ``ctx.repeat`` times, ``ctx.concurrency`` at a time; results in case order.
    ``run_one(case, attempt)`` returns a dict with ``passed``; the bar counts it as it lands."""
    jobs = [(n, case, attempt) for n, case in enumerate(cases) for attempt in range(ctx.repeat)]
    ctx.start_cases(desc, len(jobs))
    results: dict[tuple[int, int], T] = {}
    with ThreadPoolExecutor(max_workers=max(1, ctx.concurrency)) as pool:
        futures = {pool.submit(run_one, case, attempt): (n, attempt) for n, case, attempt in jobs}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            ctx.case_done(bool(result.get("passed")) if isinstance(result, dict) else bool(result))
    return [results[(n, attempt)] for n, _, attempt in jobs]
