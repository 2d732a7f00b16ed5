"""The state of one run of the graph, checkpointed after every node.

A run starts with a customer message and lasts until its reply is final: through the customer's
confirmation and the officers' approval if the action needs them. Each run has its own LangGraph
thread id (`run_id`), so a conversation can go on while an earlier action waits for review.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

# The agents the main graph can hand a turn to; each is a package under agents/ with a subgraph.
AgentName = Literal["service", "advisory"]


class ConversationState(TypedDict, total=False):
    # Set by the server from the authenticated session, never by a model (invariant 4).
    customer_id: str
    thread_id: str  # the conversation (database Thread)
    run_id: str  # this run's LangGraph thread id
    # The current turn.
    user_message: str
    language: str  # "en" | "zh"
    intent: str
    agent: AgentName
    route_by: str
    topic: str | None  # the intent catalogue's topic (agents/catalogue.yaml), when the router has one
    hits: list[dict[str, Any]]
    # What goes back to the customer at the end of this run.
    reply: str
    # The start of `reply` the customer has already read as streamed tokens: checks after the
    # stream may add to a reply, never take this part back (invariant 11).
    streamed: str
    citations: list[dict[str, str]]
    product_types: list[str]  # of the documents the reply cites: the compliance step adds disclosures
    choices: list[dict[str, str]]  # answer buttons for a questionnaire question (label, value)
    advice: dict[str, Any] | None  # the allocation tool's figures the widget draws (advisory replies)
    status: str
    notice: str  # why a reply was replaced or degraded, for the audit trail
    # The action under way, if any.
    action: dict[str, Any] | None
    verdict: dict[str, Any] | None
    approval: dict[str, Any] | None
    result: dict[str, Any] | None
    # The last turns of the conversation, for the model's context (role/content pairs), from the database.
    history: list[dict[str, str]]
