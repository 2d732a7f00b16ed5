"""Recording a proposed action, for every agent: the Action row with its verdict, the audit entry, and
the reply that asks the customer to confirm (or says, in neutral words, why it cannot be done).

The verdict, its rule ids and evidence go to the database and the audit trail for staff. The customer
reads only the packs' neutral `customer_text` (invariant 9: no tipping-off).
"""

from __future__ import annotations

import uuid
from typing import Any

from agents.deps import Deps
from agents.language import say
from agents.state import ConversationState
from finagent import audit
from finagent.models import Action
from finagent.sanitize import clean_text
from policies.verdict import Decision, Verdict


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


async def record_proposal(
    deps: Deps,
    state: ConversationState,
    *,
    agent: str,
    action_type: str,
    args: dict[str, Any],
    summary: str,
    rationale: str,
    verdict: Verdict,
) -> dict[str, Any]:
    """Store the proposal and return the state update: a confirmation question, or a neutral refusal."""
    language = state.get("language", "en")
    blocked = verdict.decision == Decision.BLOCK
    action_id, judged = uuid.uuid4().hex, verdict.model_dump(mode="json")
    async with deps.sessions() as session:
        session.add(
            Action(
                id=action_id,
                thread_id=state["thread_id"],
                run_id=state["run_id"],
                customer_id=state["customer_id"],
                type=action_type,
                args=args,
                summary=clean_text(summary),  # what the customer confirms and the officer approves
                verdict=judged,
                rationale=clean_text(rationale, multiline=True),
                status="blocked" if blocked else "confirm",
            )
        )
        await audit.record(
            session,
            actor=f"agent:{agent}",
            kind="action.proposed",
            subject=action_id,
            payload={
                "type": action_type,
                "args": args,
                "verdict": judged,
                "customer_id": state["customer_id"],
            },
        )
        await session.commit()
    note = verdict.customer_text()
    update: dict[str, Any] = {
        "action": {"action_id": action_id, "type": action_type, "args": args, "summary": summary},
        "verdict": judged,
    }
    if blocked:
        reason = note.get(language) if note else say("not_permitted", language)
        return update | {"reply": say("blocked", language, reason=reason), "status": "blocked"}
    if verdict.decision == Decision.REQUIRE_APPROVAL and note is not None:
        reply = say("confirm_review", language, summary=summary, note=note.get(language))
    else:
        reply = say("confirm", language, summary=summary)
    return update | {"reply": reply, "status": "confirm"}


def pending_reply(summary: str, language: str) -> str:
    return say("pending", language, summary=_sentence(summary))
