"""Service agent, action side: the model fills the slots, policy decides, the customer confirms."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel

from agents.deps import Deps
from agents.language import say
from agents.prompts import SLOTS_SYSTEM
from agents.schemas import BlockCardSlots, TransferSlots
from agents.state import ConversationState
from finagent import audit
from finagent.llm import LLMError, LLMUnavailable
from finagent.models import Action, utcnow
from policies.actions import ActionRequest
from policies.verdict import Decision, Reason, Verdict
from tools.banking import CustomerSnapshot, load_snapshot
from tools.policy_engine import get_engine

SLOT_SCHEMAS: dict[str, type[BaseModel]] = {"block_card": BlockCardSlots, "transfer": TransferSlots}
_AMOUNT = re.compile(r"(\d[\d.,' ]*\d|\d)\s*(k|K|千|万)?")


def amounts_in(text: str) -> set[Decimal]:
    """Every amount a customer's message could mean: 20,000 / 20.000 / 20k / 2万 / 1 500."""
    found: set[Decimal] = set()
    for raw, suffix in _AMOUNT.findall(text):
        digits = raw.replace(" ", "").replace("'", "")
        candidates = {digits.replace(",", ""), digits.replace(".", "").replace(",", ".")}
        for c in candidates:
            try:
                value = Decimal(c)
            except InvalidOperation:
                continue
            found.add(value * {"k": 1000, "K": 1000, "千": 1000, "万": 10000}.get(suffix, 1))
    return found


_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ibans_in(text: str) -> set[str]:
    """The valid IBANs a customer wrote, spaces or not. The IBAN comes from here, never from the model."""
    found = set()
    for match in _IBAN.finditer(text):
        candidate = match.group(0).replace(" ", "").upper()
        # A greedy match may run into the next word; shorten until the checksum holds.
        for end in range(len(candidate), 14, -1):
            if iban_valid(candidate[:end]):
                found.add(candidate[:end])
                break
    return found


def _mentioned(name: str, message: str) -> bool:
    """Every word of the payee's name appears in what the customer wrote."""
    words = re.findall(r"\w+", name.lower())
    text = message.lower()
    return bool(words) and all(w in text for w in words)


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _iban_country(iban: str | None) -> str | None:
    if iban and re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", iban.replace(" ", "").upper()):
        return iban.replace(" ", "").upper()[:2]
    return None


def _plan(
    intent: str, slots: BaseModel, snap: CustomerSnapshot, message: str
) -> tuple[dict[str, Any], str] | str:
    """Turn model-proposed slots into concrete, checked arguments, or a reason they don't hold."""
    if intent == "block_card":
        assert isinstance(slots, BlockCardSlots)
        active = [c for c in snap.cards if c.status == "active"]
        wanted = [c for c in active if slots.card_type != "unknown" and slots.card_type in c.product.lower()]
        if not active:
            return "you have no active card to block"
        card = (wanted or active)[0]
        return (
            {"card_id": card.id, "card_last4": card.last4, "reason": slots.reason},
            f"block your {card.product} card ending {card.last4}",
        )
    assert isinstance(slots, TransferSlots)
    try:
        amount = Decimal(str(slots.amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return "the amount is not a number"
    if amount <= 0 or amount not in {a.quantize(Decimal("0.01")) for a in amounts_in(message)}:
        return "unclear"  # the model's amount is not one the customer wrote: never act on it
    if not slots.payee_name.strip():
        return "unclear"
    if not _mentioned(slots.payee_name, message):
        return "unclear"  # a payee the customer never named
    written = ibans_in(message)
    if len(written) > 1:
        return "unclear"  # two account numbers: ask rather than pick one
    written_iban = next(iter(written), "")
    known = next((p for p in snap.known_payees if p.name.lower() == slots.payee_name.strip().lower()), None)
    iban = written_iban or (known.iban if known else None) or None
    country = _iban_country(iban) or (known.country if known else snap.context.country)
    account = snap.accounts[0]
    currency = slots.currency.upper() or "EUR"
    args = {
        "account_id": account.id,
        "amount": str(amount),
        "currency": currency,
        "payee_name": slots.payee_name.strip(),
        "payee_iban": iban,
        "payee_country": country,
        "new_payee": known is None,
        "reference": slots.reference,
    }
    label = "new payee" if known is None else "saved payee"
    return args, f"transfer {_money(amount, currency)} to {args['payee_name']} ({label})"


def _ledger_checks(intent: str, args: dict[str, Any], snap: CustomerSnapshot, version: str) -> list[Verdict]:
    """What the ledger itself forbids, beside the policy packs: spending more than the balance."""
    if intent != "transfer" or Decimal(args["amount"]) <= snap.accounts[0].balance:
        return []
    reason = Reason(
        rule_id="LEDGER-BALANCE",
        reason_code="INSUFFICIENT_FUNDS",
        severity="high",
        explanation="the amount is more than the available balance",
        evidence={"amount": args["amount"]},
        decision=Decision.BLOCK,
    )
    return [Verdict(decision=Decision.BLOCK, policy_version=version, reasons=[reason])]


def _reasons_text(verdict: Verdict) -> str:
    return "; ".join(r.explanation for r in verdict.reasons if r.decision == Decision.BLOCK) or "policy"


async def propose_action(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps, language, intent = runtime.context, state.get("language", "en"), state["intent"]
    message = state["user_message"]
    try:
        slots = await deps.llm.structured(
            [{"role": "system", "content": SLOTS_SYSTEM}, {"role": "user", "content": message}],
            SLOT_SCHEMAS[intent],
        )
    except LLMUnavailable:
        return {"reply": say("llm_down_action", language), "status": "error", "action": None}
    except LLMError:
        return {"reply": say("slots_unclear", language), "status": "error", "action": None}
    now = utcnow()
    async with deps.sessions() as session:
        snap = await load_snapshot(session, state["customer_id"], now)
        plan = _plan(intent, slots, snap, message)
        if isinstance(plan, str):
            if plan == "unclear":
                return {"reply": say("slots_unclear", language), "status": "error", "action": None}
            return {"reply": say("failed", language, reason=plan), "status": "blocked", "action": None}
        args, summary = plan
        request = ActionRequest(
            action=intent,
            args=args,
            customer=snap.context,
            history=snap.history,
            known_payees=[p.name for p in snap.known_payees],
            now=now,
        )
        verdict = get_engine(deps.settings.policy_dir).check_action(request)
        verdict = Verdict.combine(
            [verdict, *_ledger_checks(intent, args, snap, verdict.policy_version)], verdict.policy_version
        )
        action_id = uuid.uuid4().hex
        blocked = verdict.decision == Decision.BLOCK
        action = Action(
            id=action_id,
            thread_id=state["thread_id"],
            run_id=state["run_id"],
            customer_id=state["customer_id"],
            type=intent,
            args=args,
            summary=summary,
            verdict=verdict.model_dump(mode="json"),
            rationale=f'Customer wrote: "{message[:300]}". Proposed by the service agent; slots checked '
            f"against the message and the ledger.",
            status="blocked" if blocked else "confirm",
        )
        session.add(action)
        await audit.record(
            session,
            actor="agent:service",
            kind="action.proposed",
            subject=action_id,
            payload={
                "type": intent,
                "args": args,
                "verdict": verdict.model_dump(mode="json"),
                "customer_id": state["customer_id"],
            },
        )
        await session.commit()
    public = {"action_id": action_id, "type": intent, "args": args, "summary": summary}
    if blocked:
        return {
            "reply": say("blocked", language, reasons=_reasons_text(verdict)),
            "status": "blocked",
            "action": public,
            "verdict": verdict.model_dump(mode="json"),
        }
    return {
        "reply": say("confirm", language, summary=summary),
        "status": "confirm",
        "action": public,
        "verdict": verdict.model_dump(mode="json"),
    }


async def confirm(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Waits for the customer's yes or no. Nothing before interrupt() has side effects: it re-runs."""
    action, language = state["action"], state.get("language", "en")
    assert action is not None
    answer = interrupt({"kind": "confirm", "action_id": action["action_id"]})
    confirmed = bool(answer.get("confirm")) if isinstance(answer, dict) else False
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
        return {"reply": say("cancelled", language), "status": "cancelled"}
    if needs_approval:
        return {
            "reply": say("pending", language, summary=action["summary"][:1].upper() + action["summary"][1:]),
            "status": "pending_approval",
        }
    return {"status": "confirmed"}
