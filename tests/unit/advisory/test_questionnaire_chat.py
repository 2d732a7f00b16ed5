"""The risk-profiling dialogue over HTTP on the scripted model: one question at a time, buttons and free
text in English and Chinese, a changed answer, knock-outs, the stored profile, expiry and withdrawal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.conftest import AppFactory, login, say

# Answers in the customer's own words (and one button label), question by question.
WORDS = [
    "Equity funds or shares",  # experience (a button label): 3
    "I know the basics",  # understanding: 2
    "I'm 45",  # age, read as a number: 40-59 -> 2
    "stable",  # income: 3
    "about 20 %",  # obligations, a number: 10-30 % -> 3
    "3",  # share of wealth, by position: 25-50 % -> 3
    "5 years",  # horizon, a number: 3-7 years -> 3
    "Regular income",  # goal: 1
    "I would hold",  # drawdown: 3
    "it would hurt my plans",  # loss capacity: 1
    "no preference",  # sustainability: 0
]  # 24 points: C3 (17-24)


def run_questionnaire(
    client: TestClient, headers: dict[str, str], answers: list[str], opening: str = "I want investment advice"
) -> tuple[str, dict[str, Any]]:
    _, first = say(client, headers, opening)
    assert first["status"] == "question" and first["choices"], first
    thread, last = first["thread_id"], first
    for text in answers:
        _, last = say(client, headers, text, thread)
    return thread, last


def test_questionnaire_one_question_at_a_time_then_profile(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    _, first = say(client, alice, "I want investment advice")
    assert first["status"] == "question"
    assert "Question 1 of 11" in first["content"]
    assert [c["label"] for c in first["choices"]] == [
        "None",
        "Deposits and bond funds",
        "Equity funds or shares",
        "Derivatives or structured products",
    ]
    thread = first["thread_id"]
    _, unclear = say(client, alice, "purple", thread)
    assert "couldn't match" in unclear["content"] and "Question 1 of 11" in unclear["content"]
    last = unclear
    for n, text in enumerate(WORDS, 1):
        _, last = say(client, alice, text, thread)
        if n < len(WORDS):
            assert f"Question {n + 1} of 11" in last["content"], (text, last["content"])
    assert last["status"] == "answered"
    assert "Your investor profile is C3 (balanced)" in last["content"]
    assert "RPQ-2026.11" in last["content"] and "24 of 38 points" in last["content"]


def test_changed_answer_rescores_with_knock_out(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, done = run_questionnaire(client, alice, WORDS)
    assert "C3" in done["content"]
    _, asked = say(client, alice, "change 7", thread)
    assert "Question 7 of 11" in asked["content"] and asked["choices"]
    _, redone = say(client, alice, "less than a year", thread)
    # 21 points would be C3, but a horizon under a year caps the class at C1.
    assert "Your investor profile is C1" in redone["content"]
    assert "capped at C1" in redone["content"]
    _, shown = say(client, alice, "show my risk profile", thread)
    assert "Your investor profile is C1" in shown["content"]


def test_back_goes_to_the_previous_question(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, second = run_questionnaire(client, alice, WORDS[:1])
    assert "Question 2 of 11" in second["content"]
    _, back = say(client, alice, "back", thread)
    assert "Question 1 of 11" in back["content"]


def test_chinese_questionnaire(make_client: AppFactory) -> None:
    client = make_client()
    bob = login(client, "bob")
    _, first = say(client, bob, "开始风险评估问卷")
    assert "第1题（共11题）" in first["content"] and first["choices"][0]["label"] == "没有"
    thread = first["thread_id"]
    zh = ["股票基金或股票", "我了解基本知识", "我82岁", "稳定", "3", "3", "10年", "平衡增长", "继续持有",
          "我承受不起任何损失", "没有偏好"]  # fmt: skip
    last = first
    for text in zh:
        _, last = say(client, bob, text, thread)
    assert "您的投资者风险评级为C1" in last["content"], last["content"]


def _set_profile(client: TestClient, customer_id: str, **values: Any) -> None:
    """Change the stored profile directly (what a year's wait would do to expires_at)."""
    from sqlalchemy import update

    from finagent.models import RiskProfile

    rt = client.app.state.runtime  # type: ignore[attr-defined]

    async def change() -> None:
        async with rt.sessions() as session:
            await session.execute(
                update(RiskProfile)
                .where(RiskProfile.customer_id == customer_id, RiskProfile.status == "active")
                .values(**values)
            )
            await session.commit()

    client.portal.call(change)  # type: ignore[union-attr]


def test_an_expired_profile_is_no_profile(make_client: AppFactory) -> None:
    from finagent.models import utcnow

    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    assert client.get("/api/advisory/profile", headers=alice).json()["profile"]["risk_class"] == "C3"
    _set_profile(client, "cust-001", expires_at=utcnow() - timedelta(days=1))
    assert client.get("/api/advisory/profile", headers=alice).json() == {"profile": None}
    _, refused = say(client, alice, "invest 1000 in the money market fund", thread)
    assert refused["status"] == "blocked" and "risk questionnaire" in refused["content"]


def test_a_changed_situation_withdraws_the_profile(make_client: AppFactory) -> None:
    client = make_client()
    alice = login(client, "alice")
    thread, _ = run_questionnaire(client, alice, WORDS)
    _, restart = say(client, alice, "my financial situation has changed", thread)
    assert "no longer applies" in restart["content"] and "Question 1 of 11" in restart["content"]
    assert client.get("/api/advisory/profile", headers=alice).json() == {"profile": None}
    entries = client.get("/api/audit?limit=1000", headers=login(client, "ana")).json()
    assert any(e["kind"] == "profile.withdrawn" for e in entries)
