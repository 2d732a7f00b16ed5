"""A verdict is re-checked immediately before its side effect (invariant 10): an approval given while
the rules or the ledger were different does not release what today's rules would stop."""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finagent.models import Account, Action, Customer, Transfer
from finagent.settings import Settings
from tests.unit.conftest import AppFactory, confirm, login, say

PACKS = Path(__file__).resolve().parents[2] / "policies" / "packs"
IBAN = "DE75512108001245126199"
T = TypeVar("T")


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    target = tmp_path / "packs"
    shutil.copytree(PACKS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, database_url: str, packs: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        environment="test",
        kb_min_relevance=0.3,
        policy_dir=packs,
    )


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    st = path.stat()  # a new mtime, so the engine notices the change at once
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _slots(amount: float, payee: str) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR", "payee_name": payee, "payee_iban": None, "reference": None}


def _db(client: TestClient, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run work(session) on the app's own event loop and database."""

    async def run() -> T:
        async with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            out = await work(session)
            await session.commit()
            return out

    return client.portal.call(run)  # type: ignore[union-attr]


def _held_transfer(client: TestClient, payee: str = "Dmitri Volkov") -> tuple[dict[str, Any], int]:
    alice = login(client, "alice")
    _, proposal = say(client, alice, f"send EUR 20,000 to {payee}, IBAN {IBAN}")
    assert proposal["status"] == "confirm", proposal["content"]
    assert confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])["status"] == (
        "pending_approval"
    )
    item_id = client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]
    return proposal, item_id


def _approve(client: TestClient, item_id: int) -> dict[str, Any]:
    ana = login(client, "ana")
    client.post(f"/api/approvals/{item_id}/claim", headers=ana)
    r = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER"},
        headers=ana,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _nothing_moved(client: TestClient, action_id: str) -> None:
    async def check(session: Any) -> None:
        assert (
            await session.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.action_id == action_id)
            )
            == 0
        )
        assert (await session.get(Account, "acc-001")).balance >= Decimal("20000")
        assert (await session.get(Action, action_id)).status == "refused"

    _db(client, check)


def test_a_watch_list_update_while_waiting_stops_the_approved_transfer(
    make_client: AppFactory, packs: Path
) -> None:
    client = make_client(_slots(20000, "Dmitri Volkov"))
    proposal, item_id = _held_transfer(client)
    _edit(
        packs / "watchlist.yaml",
        "      - {name: Zhang Haoyu,",
        "      - {name: Dmitri Volkov, aliases: [], country: RU, list_name: DEMO-FICTIONAL-SANCTIONS}\n"
        "      - {name: Zhang Haoyu,",
    )
    item = _approve(client, item_id)
    assert item["status"] == "approved"
    assert item["action"]["status"] == "refused"  # the officer sees that it did not run, and why
    assert item["action"]["recheck_verdict"]["decision"] == "BLOCK"
    assert "SAN-WL-01" in {r["rule_id"] for r in item["action"]["recheck_verdict"]["reasons"]}
    _nothing_moved(client, proposal["action"]["action_id"])
    last = client.get(f"/api/threads/{proposal['thread_id']}", headers=login(client, "alice")).json()
    message = last["messages"][-1]
    assert message["status"] == "refused" and message["action"]["status"] == "refused"
    assert "We can't make this payment." in message["content"] and "Nothing was changed" in message["content"]
    assert "SAN-WL" not in str(last) and "DEMO-FICTIONAL" not in str(last)
    kinds = [e["kind"] for e in client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()]
    assert "action.refused" in kinds and "action.executed" not in kinds


def test_a_balance_that_fell_during_the_wait_stops_it(make_client: AppFactory) -> None:
    client = make_client(_slots(20000, "Dmitri Volkov"))
    proposal, item_id = _held_transfer(client)

    async def spend(session: Any) -> None:
        (await session.get(Account, "acc-001")).balance = Decimal("15000.00")

    _db(client, spend)
    _approve(client, item_id)
    last = client.get(f"/api/threads/{proposal['thread_id']}", headers=login(client, "alice")).json()
    assert last["messages"][-1]["status"] == "refused"
    assert "more than the available balance" in last["messages"][-1]["content"]


def test_identity_documents_expiring_during_the_wait_stop_it(make_client: AppFactory) -> None:
    client = make_client(_slots(20000, "Dmitri Volkov"))
    proposal, item_id = _held_transfer(client)

    async def expire(session: Any) -> None:
        (await session.get(Customer, "cust-001")).kyc_status = "expired"

    _db(client, expire)
    assert _approve(client, item_id)["action"]["status"] == "refused"
    _nothing_moved(client, proposal["action"]["action_id"])


def test_a_rule_tightened_between_proposal_and_confirmation_stops_an_allowed_transfer(
    make_client: AppFactory, packs: Path
) -> None:
    client = make_client(_slots(300, "Anna Weber"))
    alice = login(client, "alice")
    _, proposal = say(client, alice, "send 300 EUR to Anna Weber")
    assert proposal["status"] == "confirm"
    _edit(packs / "approvals.yaml", "    min_amount: 10000\n", "    min_amount: 200\n")
    done = confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    assert done["status"] == "refused"  # confirmed under ALLOW; today it would need a review
    assert "needs a check by our team" in done["content"]


def test_the_same_verdict_as_approved_still_executes(make_client: AppFactory) -> None:
    client = make_client(_slots(20000, "Dmitri Volkov"))
    _, item_id = _held_transfer(client)
    assert _approve(client, item_id)["action"]["status"] == "executed"
