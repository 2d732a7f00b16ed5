"""Orders, recommendations and rebalancing over HTTP on the scripted model: a suitable order executes
into the holdings ledger once; an unsuitable one is refused with a suitable alternative; an insistent
client confirms and a compliance officer approves; large orders and vulnerable clients go to a person."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.advisory.test_questionnaire_chat import WORDS, run_questionnaire
from tests.unit.conftest import AppFactory, confirm, login, say

# Two answers that change WORDS: "can't afford any loss" caps the class at C1 and signals vulnerability.
CANNOT_LOSE = [*WORDS[:9], "I can't afford any loss", WORDS[10]]


def _staff_verdict(client: TestClient, action_id: str) -> dict[str, Any]:
    entries = client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()
    proposed = next(e for e in entries if e["kind"] == "action.proposed" and e["subject"] == action_id)
    verdict: dict[str, Any] = proposed["payload"]["verdict"]
    return verdict


def _approve(client: TestClient, action_id: str) -> Any:
    ana = login(client, "ana")
    queue = client.get("/api/approvals", headers=ana).json()
    item = next(i for i in queue if i["action"]["action_id"] == action_id)
    assert client.post(f"/api/approvals/{item['id']}/claim", headers=ana).status_code == 200
    return client.post(
        f"/api/approvals/{item['id']}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER", "note": "called back"},
        headers=ana,
    )


def _holdings(client: TestClient, headers: dict[str, str]) -> dict[str, Decimal]:
    rows = client.get("/api/advisory/holdings", headers=headers).json()["positions"]
    return {r["product_id"]: Decimal(r["amount"]) for r in rows}


def test_suitable_portfolio_order_executes_once_into_the_ledger(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    _, proposal = say(client, alice, "invest 10,000 in the balanced portfolio", thread)
    assert proposal["status"] == "confirm", proposal["content"]
    action = proposal["action"]
    assert action["summary"] == "invest EUR 10,000.00 in the Lakeshore Balanced Portfolio (R3)"
    assert sum(Decimal(leg["amount"]) for leg in action["args"]["legs"]) == Decimal("10000.00")
    assert _staff_verdict(client, action["action_id"])["decision"] == "ALLOW"
    done = confirm(client, alice, thread, action["action_id"])
    assert done["status"] == "executed"
    assert done["action"]["result"]["new_balance"] == "74250.00"
    held = _holdings(client, alice)
    assert sum(held.values()) == Decimal("10000.00") and set(held) <= {"LMMF", "EGBF", "BIF"}
    again = client.post(
        "/api/chat/confirm", json={"thread_id": thread, "action_id": action["action_id"], "confirm": True},
        headers=alice,
    )  # fmt: skip
    assert again.status_code == 422 and "already executed" in again.json()["error"]["message"]
    assert sum(_holdings(client, alice).values()) == Decimal("10000.00")


def test_unsuitable_order_is_refused_with_an_alternative_then_insistent_client_needs_approval(
    make_client: AppFactory,
) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)  # C3
    _, refused = say(client, alice, "buy the Global Equity fund for 5000", thread)
    assert refused["status"] == "blocked"
    assert "higher than your investor profile allows" in refused["content"]
    assert "A product that fits your profile C3: the Balanced Income Fund (R3)" in refused["content"]
    assert "SUI-" not in refused["content"] and "PRODUCT_ABOVE" not in refused["content"]
    assert _holdings(client, alice) == {}
    _, insisted = say(client, alice, "I understand the risk and still want to buy it", thread)
    assert insisted["status"] == "confirm"
    assert "against our suitability warning" in insisted["action"]["summary"]
    assert "compliance officer reviews the order" in insisted["content"]
    verdict = _staff_verdict(client, insisted["action"]["action_id"])
    assert verdict["decision"] == "REQUIRE_APPROVAL"
    assert {r["reason_code"] for r in verdict["reasons"]} >= {"INSISTENT_CLIENT"}
    pending = confirm(client, alice, thread, insisted["action"]["action_id"])
    assert pending["status"] == "pending_approval"
    assert _holdings(client, alice) == {}  # nothing before the officer approves
    assert _approve(client, insisted["action"]["action_id"]).status_code == 200
    assert _holdings(client, alice) == {"GEIF": Decimal("5000.00")}


def test_complex_or_far_above_profile_cannot_be_insisted(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)  # C3
    _, refused = say(client, alice, "buy the autocall 2029 structured note for 5000", thread)
    assert refused["status"] == "blocked"
    assert "still want" not in refused["content"]
    assert "Lakeshore Balanced Portfolio (R3)" in refused["content"]


def test_no_profile_means_no_order(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    _, refused = say(client, alice, "buy the money market fund for 1000")
    assert refused["status"] == "blocked"
    assert "risk questionnaire" in refused["content"]


def test_large_order_and_vulnerable_client_need_approval(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    _, large = say(client, alice, "invest 60,000 in the balanced portfolio", thread)
    assert large["status"] == "confirm"
    assert _staff_verdict(client, large["action"]["action_id"])["decision"] == "REQUIRE_APPROVAL"
    _, old = say(client, alice, "I'm 82, invest 2000 in the money market fund", thread)
    verdict = _staff_verdict(client, old["action"]["action_id"])
    assert verdict["decision"] == "REQUIRE_APPROVAL"
    assert "adviser looks at this order with you" in old["content"]

    bob = login(client, "bob")
    bob_thread, profile = run_questionnaire(client, bob, CANNOT_LOSE)
    assert "Your investor profile is C1" in profile["content"]
    _, order = say(client, bob, "invest 1000 in the money market fund", bob_thread)
    verdict = _staff_verdict(client, order["action"]["action_id"])
    assert verdict["decision"] == "REQUIRE_APPROVAL"
    assert order["action"]["args"]["vulnerability_signals"] == ["vulnerable"]


def test_recommendation_states_only_the_tools_numbers(make_client: AppFactory) -> None:
    client = make_client(
        "A mix of bonds and a balanced fund suits a five-year horizon. It returned 12 % a year."
    )
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    _, advice = say(client, alice, "what should I invest in?", thread)
    assert advice["status"] == "answered", advice["content"]
    assert "I propose the Lakeshore Balanced Portfolio" in advice["content"]
    assert "suits a five-year horizon" in advice["content"]
    assert "12 %" not in advice["content"]  # a number the tool never produced is dropped
    chart = advice["advice"]
    assert sum(w["weight"] for w in chart["weights"]) == 1.0 and chart["backtest"]
    assert f"{chart['figures']['volatility']:.1f} %" in advice["content"]
    assert "Past performance is not a reliable guide" in advice["content"]  # appended by compliance
    report = client.get(chart["report_url"], headers=alice)
    assert report.status_code == 200 and "Why it fits your profile" in report.text
    assert "RPQ-2026.11" in report.text and "arch-data:" in report.text
    assert client.get(chart["report_url"], headers=login(client, "bob")).status_code == 404


def test_rebalance_after_the_profile_changes(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    _, order = say(client, alice, "invest 10,000 in the balanced portfolio", thread)
    confirm(client, alice, thread, order["action"]["action_id"])
    _, fine = say(client, alice, "rebalance my portfolio", thread)
    assert "Nothing needs to change" in fine["content"]
    say(client, alice, "change 7", thread)
    _, redone = say(client, alice, "less than a year", thread)
    assert "Your investor profile is C1" in redone["content"] and "rebalance" in redone["content"]
    _, proposal = say(client, alice, "rebalance my portfolio", thread)
    assert proposal["status"] == "confirm", proposal["content"]
    legs = {leg["product_id"]: Decimal(leg["amount"]) for leg in proposal["action"]["args"]["legs"]}
    assert sum(legs.values()) == 0 and legs["LMMF"] == Decimal("10000.00")
    done = confirm(client, alice, thread, proposal["action"]["action_id"])
    assert done["status"] == "executed"
    assert _holdings(client, alice) == {"LMMF": Decimal("10000.00")}
