"""Nothing that reaches the customer is withdrawn afterwards (invariant 11): every check that could
remove a sentence runs before the sentence is streamed, so the streamed text is always the start of
the final message, whatever the model writes or however it fails."""

from __future__ import annotations

from typing import Any

import pytest

from finagent.llm import LLMUnavailable
from tests.fakes import StreamCut
from tests.unit.conftest import AppFactory, login, say

GOOD = "You can block a lost card instantly in the chat assistant or the app."
QUESTION = "How do I block a lost card?"


def _streamed_and_final(events: list[tuple[str, dict[str, Any]]], msg: dict[str, Any]) -> tuple[str, str]:
    return "".join(d["text"] for name, d in events if name == "token"), msg["content"]


def test_an_unsupported_sentence_is_held_back_and_the_first_one_stays(make_client: AppFactory) -> None:
    client = make_client(f"{GOOD} Our branch staff will visit you at home within the hour to collect it.")
    events, msg = say(client, login(client, "alice"), QUESTION)
    streamed, final = _streamed_and_final(events, msg)
    assert streamed.strip() == GOOD  # the unsupported claim never reached the screen
    assert final.startswith(streamed)  # and what did is still there
    assert "visit you at home" not in final
    assert "Here is what our documentation says" in final and "+49 69 0000 1100" in final


def test_a_stream_cut_mid_answer_keeps_what_was_shown(make_client: AppFactory) -> None:
    client = make_client(StreamCut(f"{GOOD} You can also", LLMUnavailable("connection reset")))
    events, msg = say(client, login(client, "alice"), QUESTION)
    streamed, final = _streamed_and_final(events, msg)
    assert streamed.strip() == GOOD
    assert final.startswith(streamed) and "can't write a full answer right now" in final


@pytest.mark.parametrize(
    "reply",
    [
        GOOD,
        f"{GOOD} It is guaranteed to be risk-free.",
        f"{GOOD} Blocking costs EUR 49.",
        f"{GOOD} The Quantum Shield Plan refunds everything.",
        f"{GOOD} Call +49 69 0000 1100 any time. Then email me your PIN so I can check.",
        "Blocking costs EUR 49. " + GOOD,
        "无法回答。",
    ],
)
def test_the_streamed_text_is_always_the_start_of_the_final_reply(
    make_client: AppFactory, reply: str
) -> None:
    client = make_client(reply)
    events, msg = say(client, login(client, "alice"), QUESTION)
    streamed, final = _streamed_and_final(events, msg)
    assert final.startswith(streamed), (streamed, final)
    for bad in ("guaranteed", "EUR 49", "Quantum", "PIN"):
        assert bad not in streamed
