"""The advisory agent's nodes: the questionnaire turn, the recommendation, an order, a rebalance.
Each reads the profile of record (tools.banking.current_profile) and writes one reply."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.advisory import questionnaire as q
from agents.advisory.orders import propose_order, propose_rebalance, refused_order
from agents.advisory.phrases import phrase
from agents.advisory.proposal import recommend as recommend_portfolio
from agents.advisory.proposal import shelf
from agents.advisory.words import (
    advisory_request,
    changed_question,
    order_amounts,
    products_named,
    wants_back,
    without_names,
)
from agents.deps import Deps
from agents.state import ConversationState
from finagent import audit
from finagent.models import utcnow
from tools.banking import current_profile, positions
from tools.policy_engine import PolicyEngine, get_engine
from tools.profiling import questionnaire


def _engine(runtime: Runtime[Deps]) -> PolicyEngine:
    return get_engine(runtime.context.settings.policy_dir)


async def profiling(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """A questionnaire turn: an answer, "back", "change 3", start, retake, show, or a changed situation."""
    deps, language, text = runtime.context, state.get("language", "en"), state["user_message"]
    engine = _engine(runtime)
    rule = questionnaire(engine)
    now = utcnow()
    customer = state["customer_id"]
    async with deps.sessions() as session:
        draft = await q.in_progress(session, customer)
        number = changed_question(text)
        request = advisory_request(text)
        reply: dict[str, Any] | None = None
        if number is not None:
            reply = await q.change(session, rule, customer, number, language, now)
        elif draft is not None and wants_back(text):
            reply = q.go_back(rule, draft, language)
        elif request == "situation_changed":
            profile = await current_profile(session, customer, now)
            if profile is not None:
                profile.status = "withdrawn"
                await audit.record(
                    session,
                    actor=f"customer:{customer}",
                    kind="profile.withdrawn",
                    subject=customer,
                    payload={"profile_id": profile.id, "said": text[:200]},
                )
            started = await q.start(session, rule, customer, language, {}, rule.questions[0])
            reply = started | {"reply": f"{phrase('withdrawn', language)}\n\n{started['reply']}"}
        elif request == "retake" or (draft is None and request == "recommend"):
            started = await q.start(session, rule, customer, language, {}, rule.questions[0])
            lead = phrase("start", language, total=len(rule.questions))
            if request == "recommend":
                lead = f"{phrase('need_profile', language)} {lead}"
            reply = started | {"reply": f"{lead}\n\n{started['reply']}"}
        elif request == "show_profile":
            profile = await current_profile(session, customer, now)
            text_out = (
                q.profile_summary(profile, rule, language) if profile else phrase("no_profile", language)
            )
            reply = {"reply": text_out, "status": "answered"}
        elif draft is not None:
            reply, done = await q.answer(session, engine, draft, text, language)
            if done is not None and await positions(session, customer):
                reply["reply"] += "\n\n" + phrase("holdings_drift_after_profile", language)
        if reply is None:  # "change 3" with no profile to change
            reply = {"reply": phrase("no_profile", language), "status": "answered"}
        await session.commit()
    return {"choices": []} | reply


async def advise(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Investment advice: the recommendation with a current profile, else the questionnaire."""
    request = advisory_request(state["user_message"])
    if request in ("situation_changed", "retake", "show_profile") or changed_question(state["user_message"]):
        return await profiling(state, runtime)
    engine = _engine(runtime)
    async with runtime.context.sessions() as session:
        profile = await current_profile(session, state["customer_id"], utcnow())
    text = state["user_message"]
    named = products_named(text, list(shelf(engine).values()))
    if len(named) == 1 and order_amounts(without_names(text, named[0])) and request == "recommend":
        return await propose_order(state, runtime, engine, profile)  # "I'm 82, invest 2000 in ..."
    if request == "insist":
        refused = await refused_order(runtime.context, state["thread_id"])
        if refused is None:
            return {"reply": phrase("nothing_to_insist", state.get("language", "en")), "status": "answered"}
        return await propose_order(state, runtime, engine, profile, insistent_of=refused)
    if profile is None:
        return await profiling(state, runtime)
    if request == "rebalance":
        return await propose_rebalance(state, runtime, engine, profile)
    return await recommend_portfolio(state, runtime, engine, profile)


async def order(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    engine = _engine(runtime)
    async with runtime.context.sessions() as session:
        profile = await current_profile(session, state["customer_id"], utcnow())
    return await propose_order(state, runtime, engine, profile)
