"""The main conversation graph. Read the edges from the routers' return types:

route -> answer -> review -> END
      -> propose_action -> END (blocked / unclear)
                        -> confirm -> END (cancelled)
                                   -> execute -> END                      (ALLOW)
                                   -> await_approval -> execute | rejected (REQUIRE_APPROVAL)
      -> handoff | greeting -> END
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents.actions import confirm, propose_action
from agents.deps import Deps
from agents.language import say
from agents.prompts import ROUTE_SYSTEM
from agents.router import IntentChoice
from agents.service import answer
from agents.state import ConversationState
from finagent import audit
from finagent.language import detect_language
from finagent.llm import LLMError
from graphs.approval import await_approval, execute, rejected
from policies.verdict import Decision
from tools.text_check import check_outgoing_text


async def route(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps, text = runtime.context, state["user_message"]
    chosen = await asyncio.to_thread(deps.router.classify, text)
    if chosen is None:
        try:
            pick = await deps.llm.structured(
                [{"role": "system", "content": ROUTE_SYSTEM}, {"role": "user", "content": text}], IntentChoice
            )
            chosen = deps.router.route_for(pick.intent, 0.0, "llm", text)
        except LLMError:
            chosen = deps.router.route_for("question", 0.0, "llm")  # the safe default: no side effects
    return {
        "intent": chosen.intent,
        "route_by": chosen.by,
        "language": detect_language(text),
        "action": None,
        "verdict": None,
        "approval": None,
        "result": None,
        "citations": [],
        "notice": "",
    }


def after_route(state: ConversationState) -> Literal["answer", "propose_action", "handoff", "greeting"]:
    intent = state["intent"]
    if intent in ("block_card", "transfer"):
        return "propose_action"
    if intent in ("handoff", "greeting"):
        return intent  # type: ignore[return-value]
    return "answer"


async def handoff(state: ConversationState) -> dict[str, Any]:
    return {"reply": say("handoff", state.get("language", "en")), "status": "no_answer"}


async def greeting(state: ConversationState) -> dict[str, Any]:
    return {"reply": say("greeting", state.get("language", "en")), "status": "answered"}


async def review(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Compliance review of the outgoing text: prohibited claims, missing disclosures, PII."""
    check = check_outgoing_text(state.get("reply", ""))
    update: dict[str, Any] = {}
    if check.verdict.decision == Decision.BLOCK:
        update = {
            "reply": say("review_blocked", state.get("language", "en")),
            "citations": [],
            "status": "no_answer",
            "notice": "review_blocked",
        }
    elif check.redacted_text != state.get("reply", ""):
        update = {"reply": check.redacted_text}
    if check.verdict.reasons:
        async with runtime.context.sessions() as session:
            await audit.record(
                session,
                actor="agent:compliance",
                kind="reply.reviewed",
                subject=state["thread_id"],
                payload={"verdict": check.verdict.model_dump(mode="json")},
            )
            await session.commit()
    return update


def after_proposal(state: ConversationState) -> Literal["confirm", "__end__"]:
    return "confirm" if state.get("status") == "confirm" else "__end__"


def after_confirm(state: ConversationState) -> Literal["execute", "await_approval", "__end__"]:
    status = state.get("status")
    if status == "confirmed":
        return "execute"
    return "await_approval" if status == "pending_approval" else "__end__"


def after_approval(state: ConversationState) -> Literal["execute", "rejected"]:
    return "execute" if (state.get("approval") or {}).get("decision") == "approve" else "rejected"


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> CompiledStateGraph[Any, Any, Any, Any]:
    g = StateGraph(ConversationState, context_schema=Deps)
    g.add_node("route", route)
    g.add_node("answer", answer)
    g.add_node("review", review)
    g.add_node("handoff", handoff)
    g.add_node("greeting", greeting)
    g.add_node("propose_action", propose_action)
    g.add_node("confirm", confirm)
    g.add_node("await_approval", await_approval)
    g.add_node("execute", execute)
    g.add_node("rejected", rejected)
    g.add_edge(START, "route")
    g.add_conditional_edges("route", after_route)
    g.add_edge("answer", "review")
    g.add_edge("review", END)
    g.add_edge("handoff", END)
    g.add_edge("greeting", END)
    g.add_conditional_edges("propose_action", after_proposal)
    g.add_conditional_edges("confirm", after_confirm)
    g.add_conditional_edges("await_approval", after_approval)
    g.add_edge("execute", END)
    g.add_edge("rejected", END)
    return g.compile(checkpointer=checkpointer)
