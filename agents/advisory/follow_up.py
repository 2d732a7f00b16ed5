"""Messages that continue an advisory dialogue, recognised before the router: an answer to the
questionnaire question just asked ("3-7 years", "2", "我82岁"), "back", "change 3", or an insistence
after a refused order. Deterministic; anything else is routed as usual, so "block my card" in the middle
of the questionnaire still blocks the card."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from agents.advisory.orders import refused_order
from agents.advisory.questionnaire import in_progress
from agents.advisory.words import advisory_request, changed_question, insists, wants_back
from agents.deps import Deps
from agents.router import asks_how
from agents.state import ConversationState
from finagent.models import RiskProfile
from tools.policy_engine import get_engine
from tools.profiling import parse_answer, questionnaire

FollowUp = Literal["continues", "questionnaire_open"] | None


async def continues_advisory(deps: Deps, state: ConversationState) -> FollowUp:
    """ "continues": the message continues the dialogue; "questionnaire_open": a questionnaire waits for
    an answer that this message did not give (the router decides; if it cannot, the question is asked
    again rather than a model guessing); None: nothing is open."""
    text = state["user_message"]
    request = advisory_request(text)
    if request in ("retake", "show_profile", "situation_changed") or (
        request == "rebalance" and not asks_how(text)
    ):
        return "continues"  # an explicit advisory request in words the agent reads itself
    async with deps.sessions() as session:
        draft = await in_progress(session, state["customer_id"])
        has_profile = (
            draft is not None
            or (
                await session.scalar(
                    select(RiskProfile.id).where(RiskProfile.customer_id == state["customer_id"]).limit(1)
                )
            )
            is not None
        )
    if changed_question(text) is not None and has_profile:
        return "continues"
    if draft is not None:
        if wants_back(text):
            return "continues"
        rule = questionnaire(get_engine(deps.settings.policy_dir))
        question = next((q for q in rule.questions if q.id == draft.current_question), None)
        if question is not None and parse_answer(question, text) is not None:
            return "continues"
    if insists(text) and await refused_order(deps, state["thread_id"]) is not None:
        return "continues"
    return "questionnaire_open" if draft is not None else None


def stays_in_questionnaire(follow_up: FollowUp, intent: str | None, text: str) -> bool:
    """While a question waits for its answer, a message that is neither an answer nor a request for
    something else (an action, a person, a real question about how things work) gets the question
    again: "purple" is not a reason to leave the questionnaire."""
    if follow_up != "questionnaire_open":
        return False
    return intent is None or (intent in ("question", "greeting", "advice") and not asks_how(text))
