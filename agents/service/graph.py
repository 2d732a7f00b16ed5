"""The service agent's subgraph. Read the edges from the router's return type:

START -> answer | propose_action | handoff | greeting -> END

The main graph takes it from there: every reply goes through the compliance review, and a proposed
action goes on to the customer's confirmation, the approval queue and execution.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.deps import Deps
from agents.language import say
from agents.service.actions import propose_action
from agents.service.answer import answer
from agents.state import ConversationState


async def handoff(state: ConversationState) -> dict[str, Any]:
    return {"reply": say("handoff", state.get("language", "en")), "status": "no_answer"}


async def greeting(state: ConversationState) -> dict[str, Any]:
    return {"reply": say("greeting", state.get("language", "en")), "status": "answered"}


def by_intent(state: ConversationState) -> Literal["answer", "propose_action", "handoff", "greeting"]:
    intent = state["intent"]
    if intent in ("block_card", "transfer"):
        return "propose_action"
    if intent == "handoff":
        return "handoff"
    if intent == "greeting":
        return "greeting"
    return "answer"


def build_service_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    g = StateGraph(ConversationState, context_schema=Deps)
    g.add_node("answer", answer)
    g.add_node("propose_action", propose_action)
    g.add_node("handoff", handoff)
    g.add_node("greeting", greeting)
    g.add_conditional_edges(START, by_intent)
    for node in ("answer", "propose_action", "handoff", "greeting"):
        g.add_edge(node, END)
    return g.compile()
