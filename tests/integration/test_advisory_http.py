"""The advisory journey over HTTP against the real server and the real embedded vLLM: the questionnaire,
the proposal whose explanation the model writes (every number in it must be the tool's), an unsuitable
order refused, and the insistent client's order held for approval."""

from __future__ import annotations

import httpx
import pytest

from agents.advisory.grounding import number_forms, numbers_in
from tests.integration.test_slice_http import _events, _final, _login

pytestmark = pytest.mark.integration

ANSWERS = [
    "Equity funds or shares",
    "I know the basics",
    "I'm 45",
    "stable",
    "about 20 %",
    "3",
    "5 years",
    "Regular income",
    "I would hold",
    "it would hurt my plans",
    "no preference",
]


def _say(base: str, headers: dict[str, str], text: str, thread: str | None) -> dict:  # type: ignore[type-arg]
    msg = _final(_events(base, "/api/chat", {"message": text, "thread_id": thread}, headers))
    return msg


def test_advisory_journey_on_the_real_model(live_server: str) -> None:
    bob = _login(live_server, "bob")  # alice and carol belong to other journeys
    first = _say(live_server, bob, "I want investment advice", None)
    assert first["status"] == "question" and first["choices"], first
    thread = httpx.get(f"{live_server}/api/threads", headers=bob).json()[0]["thread_id"]
    last = first
    for text in ANSWERS:
        last = _say(live_server, bob, text, thread)
    assert "Your investor profile is C3" in last["content"], last["content"]

    advice = _say(live_server, bob, "what should I invest in?", thread)
    assert advice["status"] == "answered", advice
    figures = advice["advice"]["figures"]
    allowed = number_forms([*figures.values(), 5, advice["advice"]["period"]])
    allowed |= number_forms([w["weight"] * 100 for w in advice["advice"]["weights"]])
    profile = httpx.get(f"{live_server}/api/advisory/profile", headers=bob).json()["profile"]
    allowed |= number_forms(
        [d["answer"] for d in profile["score"]["drivers"]]
    )  # quoted answers ("3-7 years")
    prose = advice["content"]
    assert [n for n in numbers_in(prose) if n not in allowed] == [], prose
    assert "Past performance is not a reliable guide" in advice["content"]

    refused = _say(live_server, bob, "buy the Global Equity fund for 2000", thread)
    assert refused["status"] == "blocked", refused
    insisted = _say(live_server, bob, "I understand the risk and still want to buy it", thread)
    assert (
        insisted["status"] == "confirm" and "against our suitability warning" in insisted["action"]["summary"]
    )
