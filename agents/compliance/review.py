"""Compliance review of outgoing text: prohibited claims, personal data, and the disclosures that a
product type requires, appended from the policy pack (the model is never asked to write them).

A streamed answer has been checked sentence by sentence with `releasable`, the same check this node
runs, so the part the customer already read always passes here; the review can add to a reply (a
disclosure) or replace what was not yet shown, never take back what was (invariant 11).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.deps import Deps
from agents.language import say
from agents.state import ConversationState
from finagent import audit
from policies.verdict import Decision
from tools.text_check import check_outgoing_text, required_disclosures


def releasable(text: str) -> bool:
    """May this text reach a customer? The same verdict the review node gives."""
    return check_outgoing_text(text).verdict.decision != Decision.BLOCK


async def review(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    reply, streamed = state.get("reply", ""), state.get("streamed", "")
    language = state.get("language", "en")
    check = check_outgoing_text(reply)
    update: dict[str, Any] = {}
    if check.verdict.decision == Decision.BLOCK:
        only_pii = all(f.kind == "pii" for f in check.findings)
        if only_pii:
            reply = check.redacted_text  # masked account or card numbers; the rest can go
        else:
            # What was streamed passed this check before release; keep it, replace only the rest.
            kept = streamed if streamed and reply.startswith(streamed) and releasable(streamed) else ""
            reply = (
                f"{kept}\n\n{say('review_blocked', language)}" if kept else say("review_blocked", language)
            )
            update = {"notice": "review_blocked"}
            if not kept:
                update |= {"citations": [], "status": "no_answer"}
    disclosures = required_disclosures(reply, state.get("product_types") or [], language)
    if disclosures:
        reply = f"{reply}\n\n{' '.join(disclosures)}"
    if reply != state.get("reply", ""):
        update["reply"] = reply
    if check.verdict.reasons or disclosures:
        async with runtime.context.sessions() as session:
            await audit.record(
                session,
                actor="agent:compliance",
                kind="reply.reviewed",
                subject=state["thread_id"],
                payload={"verdict": check.verdict.model_dump(mode="json"), "disclosures": disclosures},
            )
            await session.commit()
    return update
