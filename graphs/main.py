"""The main conversation graph. Read the edges from the routers' return types:

route -> <agent> (a subgraph, chosen by the router's agent name) -> compliance
compliance -> END                                   (a reply)
           -> confirm -> execute -> compliance      (ALLOW, confirmed)
                      -> compliance -> await_approval -> execute | rejected -> compliance
                                                     (REQUIRE_APPROVAL: the pending reply is reviewed too)
                      -> compliance                 (cancelled)

Every reply passes the compliance agent's review before the customer reads it, whichever agent or
node wrote it. An agent proposes an action by returning status "confirm"; what follows is the same
for every agent (graphs/approval.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents.advisory import build_advisory_graph, continues_advisory, stays_in_questionnaire
from agents.compliance import review
from agents.deps import Deps
from agents.own_words import own_words
from agents.router import ROUTE_SYSTEM, IntentChoice, Route
from agents.service import build_service_graph
from agents.state import AgentName, ConversationState
from finagent.language import detect_language
from finagent.llm import LLMError
from graphs.approval import await_approval, confirm, execute, rejected

# Each agent's subgraph, by the name the router gives. A new agent adds one line here and its name to
# agents.state.AgentName; the intents file says which intents it takes.
AGENT_GRAPHS: dict[AgentName, Any] = {"service": build_service_graph, "advisory": build_advisory_graph}


async def route(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps, text = runtime.context, state["user_message"]
    own = own_words(text)  # what a pasted email or quotation asks for is not the customer's request
    chosen: Route | None
    follow_up = await continues_advisory(deps, state)  # e.g. an answer to the questionnaire's question
    if follow_up == "continues":
        chosen = deps.router.route_for("advice", 1.0, "dialogue", text)
    else:
        chosen = (
            await asyncio.to_thread(deps.router.classify, own)
            if own
            else deps.router.route_for("question", 1.0, "embedding", text)  # only a quotation: asks nothing
        )
    if stays_in_questionnaire(follow_up, chosen.intent if chosen else None, text):
        chosen = deps.router.route_for("advice", 0.0, "dialogue", text)  # the question is asked again
    if chosen is None:
        try:
            pick = await deps.llm.structured(
                [{"role": "system", "content": ROUTE_SYSTEM}, {"role": "user", "content": own}], IntentChoice
            )
            chosen = deps.router.route_for(pick.intent, 0.0, "llm", own)
        except LLMError:
            chosen = deps.router.route_for("question", 0.0, "llm")  # the safe default: no side effects
    return {
        "intent": chosen.intent,
        "agent": chosen.agent,
        "route_by": chosen.by,
        "topic": chosen.topic,
        "language": detect_language(text),
        "action": None,
        "verdict": None,
        "approval": None,
        "result": None,
        "citations": [],
        "product_types": [],
        "choices": [],
        "advice": None,
        "streamed": "",
        "notice": "",
    }


def to_agent(state: ConversationState) -> AgentName:
    return state["agent"]


def after_review(state: ConversationState) -> Literal["confirm", "await_approval", "__end__"]:
    status = state.get("status")
    if status == "confirm":
        return "confirm"
    return "await_approval" if status == "pending_approval" else "__end__"


def after_confirm(state: ConversationState) -> Literal["execute", "compliance"]:
    return "execute" if state.get("status") == "confirmed" else "compliance"


def after_approval(state: ConversationState) -> Literal["execute", "rejected"]:
    return "execute" if (state.get("approval") or {}).get("decision") == "approve" else "rejected"


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> CompiledStateGraph[Any, Any, Any, Any]:
    g = StateGraph(ConversationState, context_schema=Deps)
    g.add_node("route", route)
    for name, build in AGENT_GRAPHS.items():
        g.add_node(name, build())
        g.add_edge(name, "compliance")
    g.add_node("compliance", review)
    g.add_node("confirm", confirm)
    g.add_node("await_approval", await_approval)
    g.add_node("execute", execute)
    g.add_node("rejected", rejected)
    g.add_edge(START, "route")
    g.add_conditional_edges("route", to_agent, {name: name for name in AGENT_GRAPHS})
    g.add_conditional_edges("compliance", after_review)
    g.add_conditional_edges("confirm", after_confirm)
    g.add_conditional_edges("await_approval", after_approval)
    g.add_edge("execute", "compliance")
    g.add_edge("rejected", "compliance")
    return g.compile(checkpointer=checkpointer)
