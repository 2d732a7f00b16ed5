"""An action's life after an agent proposed it: the customer's confirmation, the human-approval
checkpoint, and the execution that judges it once more before its side effect.

`confirm` and `await_approval` stop the run with interrupt(); the chat API resumes the first with the
customer's answer, the approvals API the second with the officers' decisions. A node re-runs from its
start on resume, so what comes before interrupt() is safe to repeat (the queue insert is unique per
action), and side effects come after it, behind the action's idempotency key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.deps import Deps
from agents.language import say
from agents.proposals import pending_reply
from agents.state import ConversationState
from finagent import audit, work_queue
from finagent.models import Action, Customer
from policies.verdict import Decision
from tools.banking import ActionFailed, ActionRefused, execute_action
from tools.policy_engine import get_engine


async def confirm(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Waits for the customer's yes or no. Nothing before interrupt() has side effects: it re-runs."""
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    answer = interrupt({"kind": "confirm", "action_id": action["action_id"]})
    confirmed = bool(answer.get("confirm")) if isinstance(answer, dict) else False
    if isinstance(answer, dict) and answer.get("language") in ("en", "zh"):
        language = answer["language"]
    needs_approval = (state.get("verdict") or {}).get("decision") == Decision.REQUIRE_APPROVAL
    new_status = ("pending_approval" if needs_approval else "confirmed") if confirmed else "cancelled"
    async with runtime.context.sessions() as session:
        row = await session.get(Action, action["action_id"], with_for_update=True)
        assert row is not None
        if row.status == "confirm":
            row.status = new_status
            await audit.record(
                session,
                actor=f"customer:{state['customer_id']}",
                kind="action.confirmed" if confirmed else "action.cancelled",
                subject=row.id,
                payload={},
            )
            await session.commit()
    if not confirmed:
        return {"reply": say("cancelled", language), "status": "cancelled", "streamed": ""}
    if needs_approval:
        return {
            "reply": pending_reply(action["summary"], language),
            "status": "pending_approval",
            "streamed": "",
        }
    return {"status": "confirmed"}


def _priority(verdict: dict[str, Any], approvers: int) -> int:
    """Urgent for a blocking-severity hit, high for four-eyes, normal otherwise (1 is most urgent)."""
    severities = {str(r.get("severity", "")).lower() for r in verdict.get("reasons") or []}
    if severities & {"critical", "high"}:
        return 1
    return 2 if approvers > 1 else 3


async def await_approval(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Queues the held action for the compliance officers (once: enqueue is idempotent per action),
    then waits for their decision, or for the sweep's automatic rejection when it expires."""
    action = state["action"]
    assert action is not None
    deps = runtime.context
    verdict = state.get("verdict") or {}
    approvers = max(1, int(verdict.get("approvers_required") or 1))
    async with deps.sessions() as session:
        customer = await session.get(Customer, state["customer_id"])
        reasons = verdict.get("reasons") or []
        await work_queue.enqueue(
            session,
            settings=deps.settings,
            now=deps.clock.now(),
            kind="approval",
            subject_type="action",
            subject_id=action["action_id"],
            title=f"{action['summary']} · {customer.name if customer else state['customer_id']}",
            actor=f"agent:{state.get('agent', 'service')}",
            priority=_priority(verdict, approvers),
            thread_id=state["thread_id"],
            customer_id=state["customer_id"],
            approvals_needed=approvers,
            expires_in=timedelta(minutes=deps.settings.approval_expiry_minutes),
            payload={
                "summary": action["summary"],
                "action_type": action.get("type"),
                "customer_name": customer.name if customer else "",
                "reason_codes": sorted({str(r.get("reason_code")) for r in reasons}),
                "rule_hits": len(reasons),
            },
        )
        await session.commit()
    decision = interrupt({"kind": "approval", "action_id": action["action_id"]})
    if not isinstance(decision, dict):
        decision = {"decision": "reject", "reason_code": "INVALID", "decisions": []}
    return {"approval": decision}


async def execute(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """The side effect, once. Today's verdict is checked first: a stricter one stops it (invariant 10)."""
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    deps = runtime.context
    approval = state.get("approval") or {}
    try:
        result = await execute_action(
            deps.sessions,
            action["action_id"],
            actor="system:executor",
            engine=get_engine(deps.settings.policy_dir),
            approvals=approval.get("decisions") or [],
        )
    except ActionRefused as refused:
        text = refused.verdict.customer_text()
        reason = text.get(language) if text else say("not_permitted", language)
        reply = say("refused", language, summary=action["summary"], reason=reason)
        return {"reply": reply, "status": "refused", "result": None, "streamed": ""}
    except ActionFailed as exc:
        async with deps.sessions() as session:
            row = await session.get(Action, action["action_id"])
            if row is not None and row.status not in ("executed", "refused"):
                row.status = "failed"
                row.result = {"error": str(exc)}
                await audit.record(
                    session,
                    actor="system:executor",
                    kind="action.failed",
                    subject=row.id,
                    payload={"error": str(exc)},
                )
                await session.commit()
        reply = say("failed", language, reason=exc.customer_reason(language))
        return {"reply": reply, "status": "failed", "result": None, "streamed": ""}
    return {
        "reply": say("executed", language, summary=action["summary"]),
        "status": "executed",
        "result": result,
        "streamed": "",
    }


async def rejected(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    texts = (state.get("approval") or {}).get("customer_text") or {}
    reason = texts.get(language) or texts.get("en") or say("not_approved", language)
    return {
        "reply": say("rejected", language, summary=action["summary"], reason=reason),
        "status": "rejected",
        "streamed": "",
    }
