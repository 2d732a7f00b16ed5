"""The scripted model is only useful if it fails loudly: too many calls, too few, a cut stream."""

from __future__ import annotations

import pytest

from finagent.llm import LLMUnavailable
from tests.fakes import ScriptedChatModel, StreamCut


async def test_a_reply_nobody_asked_for_fails_at_the_end() -> None:
    model = ScriptedChatModel("first answer", "second answer")
    assert [p async for p in model.stream([])] == ["first ", "answer"]
    with pytest.raises(AssertionError, match="1 scripted model replies were never requested"):
        model.assert_done()


async def test_a_call_beyond_the_script_fails_at_once() -> None:
    model = ScriptedChatModel()
    with pytest.raises(AssertionError, match="the script is used up"):
        [p async for p in model.stream([])]


async def test_a_stream_can_break_off_mid_way() -> None:
    model = ScriptedChatModel(StreamCut("one two three", LLMUnavailable("reset")))
    seen = []
    with pytest.raises(LLMUnavailable):
        async for piece in model.stream([]):
            seen.append(piece)
    assert seen == ["one ", "two ", "three"]
    model.assert_done()
