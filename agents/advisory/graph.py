"""The advisory agent's subgraph. Read the edges from the router's return type:

START -> profiling | advise | order -> END

`profiling` runs the questionnaire, `advise` recommends (or profiles first, rebalances, or takes an
insistence after a warning), `order` turns "invest 10,000 in the balanced portfolio" into a proposed
action. The main graph takes it from there: compliance review, confirmation, approval, execution.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.advisory.nodes import advise, order, profiling
from agents.advisory.words import advisory_request
from agents.deps import Deps
from agents.state import ConversationState


def by_intent(state: ConversationState) -> Literal["profiling", "advise", "order"]:
    if state["intent"] == "invest":
        return "order"
    if advisory_request(state["user_message"]) in ("insist", "rebalance"):
        return "advise"
    if state.get("route_by") == "dialogue":  # an answer to the questionnaire in progress
        return "profiling"
    return "advise"


def build_advisory_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    g = StateGraph(ConversationState, context_schema=Deps)
    g.add_node("profiling", profiling)
    g.add_node("advise", advise)
    g.add_node("order", order)
    g.add_conditional_edges(START, by_intent)
    for node in ("profiling", "advise", "order"):
        g.add_edge(node, END)
    return g.compile()
