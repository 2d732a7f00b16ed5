"""The human-approval checkpoint, and the nodes that act on its outcome.

`await_approval` puts the action in the compliance queue and stops the thread with interrupt().
The approvals API resumes it with Command(resume={...}) once enough officers have decided. The node
re-runs from its start on resume, so the queue insert is idempotent (unique per action).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from sqlalchemy import select

from agents.deps import Deps
from agents.language import say
from agents.state import ConversationState
from finagent import audit
from finagent.models import Action, ApprovalItem
from tools.banking import ActionFailed, execute_action


async def await_approval(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    action = state["action"]
    assert action is not None
    approvers = max(1, int((state.get("verdict") or {}).get("approvers_required") or 1))
    async with runtime.context.sessions() as session:
        existing = await session.scalar(
            select(ApprovalItem).where(ApprovalItem.action_id == action["action_id"])
        )
        if existing is None:
            item = ApprovalItem(
                action_id=action["action_id"],
                thread_id=state["thread_id"],
                customer_id=state["customer_id"],
                approvals_needed=approvers,
            )
            session.add(item)
            await session.flush()
            await audit.record(
                session,
                actor="agent:service",
                kind="approval.queued",
                subject=action["action_id"],
                payload={"item_id": item.id, "approvals_needed": approvers},
            )
            await session.commit()
    decision = interrupt({"kind": "approval", "action_id": action["action_id"]})
    return {
        "approval": decision
        if isinstance(decision, dict)
        else {"decision": "reject", "reason_code": "INVALID"}
    }


async def execute(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    try:
        result = await execute_action(runtime.context.sessions, action["action_id"], actor="system:executor")
    except ActionFailed as exc:
        async with runtime.context.sessions() as session:
            row = await session.get(Action, action["action_id"])
            if row is not None and row.status != "executed":
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
        return {"reply": say("failed", language, reason=str(exc)), "status": "failed", "result": None}
    return {
        "reply": say("executed", language, summary=action["summary"]),
        "status": "executed",
        "result": result,
    }


async def rejected(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    reason = (state.get("approval") or {}).get("reason_text") or "not approved"
    return {
        "reply": say("rejected", language, summary=action["summary"], reason=reason),
        "status": "rejected",
    }
