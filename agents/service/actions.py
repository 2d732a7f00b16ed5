"""Service agent, action side: the model fills the slots, the customer's own words confirm them, policy
decides, the customer confirms.

A slot is acted on only when the customer's message says it: the amount and currency they wrote, a
payee they named, an IBAN they typed (checksum), the card type or last digits they gave. Anything
missing or ambiguous gets a question back, never a guess or a silent fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.deps import Deps
from agents.language import say
from agents.own_words import own_words
from agents.proposals import record_proposal
from agents.service.prompts import SLOTS_SYSTEM
from agents.service.schemas import BlockCardSlots, TransferSlots
from agents.service.words import (
    amounts_in,
    card_types_in,
    currencies_in,
    ibans_in,
    last4_in,
    mentioned,
    mentions_card,
    says_saved_payee,
)
from agents.state import ConversationState
from finagent.llm import LLMError, LLMUnavailable
from finagent.models import Card, Payee, utcnow
from finagent.sanitize import hidden_characters
from tools.banking import CustomerSnapshot, action_request, load_snapshot
from tools.policy_engine import get_engine

SLOT_SCHEMAS: dict[str, type[BaseModel]] = {"block_card": BlockCardSlots, "transfer": TransferSlots}
_ZH_KIND = {"debit": "借记卡", "credit": "信用卡"}


@dataclass(frozen=True)
class Plan:
    """Checked arguments, ready for the policy engine."""

    args: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class Reply:
    """Not an action: a question back or a reason it cannot be planned (status for the widget)."""

    text: str
    status: str = "clarify"


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _iban_country(iban: str | None) -> str | None:
    return iban[:2] if iban else None


def card_kind(card: Card) -> str:
    product = card.product.lower()
    return "credit" if "credit" in product else "debit" if "debit" in product else product


def _card_options(cards: list[Card]) -> str:
    return ", ".join(f"{c.product} ending {c.last4}" for c in cards)


def plan_block_card(
    slots: BlockCardSlots, snap: CustomerSnapshot, message: str, language: str
) -> Plan | Reply:
    """The card is the one the customer named; a named type or number is a hard constraint."""
    if not mentions_card(message):
        return Reply(say("slots_unclear", language))  # "actually no, cancel that" is not a card request
    active = [c for c in snap.cards if c.status == "active"]
    if not active:
        return Reply(say("no_active_card", language), status="blocked")
    candidates = active
    digits = last4_in(message) & {c.last4 for c in snap.cards}
    if digits:
        candidates = [c for c in candidates if c.last4 in digits]
    kinds = card_types_in(message)  # the customer's words decide, not the model's card_type
    if len(kinds) > 1:
        return Reply(say("which_card", language, options=_card_options(candidates), example="debit",
                         example_zh="借记卡"))  # fmt: skip
    if kinds:
        (kind,) = kinds
        candidates = [c for c in candidates if card_kind(c) == kind]
        if not candidates:
            return Reply(
                say(
                    "no_such_card", language, kind=kind, kind_zh=_ZH_KIND[kind], options=_card_options(active)
                ),
                status="blocked",
            )
    if len(candidates) > 1 or not candidates:
        shown = candidates or active
        example = card_kind(shown[0])
        return Reply(say("which_card", language, options=_card_options(shown), example=example,
                         example_zh=_ZH_KIND.get(example, "卡")))  # fmt: skip
    card = candidates[0]
    return Plan(
        {"card_id": card.id, "card_last4": card.last4, "reason": slots.reason},
        f"block your {card.product} card ending {card.last4}",
    )


def saved_payee(snap: CustomerSnapshot, name: str) -> Payee | None:
    """The saved payee the customer means: the same name, or the only one whose name holds every word
    the customer used ("my landlord" -> "Landlord GmbH")."""
    exact = [p for p in snap.known_payees if p.name.casefold() == name.casefold()]
    if exact:
        return exact[0]
    words = set(re.findall(r"\w+", name.casefold())) - {"my", "the", "our", "我的"}
    partial = [p for p in snap.known_payees if words and words <= set(re.findall(r"\w+", p.name.casefold()))]
    return partial[0] if len(partial) == 1 else None


def plan_transfer(slots: TransferSlots, snap: CustomerSnapshot, message: str, language: str) -> Plan | Reply:
    """Amount, currency, payee and IBAN as the customer wrote them; a new payee needs an IBAN."""
    unclear = Reply(say("slots_unclear", language))
    try:
        amount = Decimal(str(slots.amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return unclear
    if amount <= 0 or amount not in {a.quantize(Decimal("0.01")) for a in amounts_in(message)}:
        return unclear  # the model's amount is not one the customer wrote: never act on it
    payee_name = slots.payee_name.strip()
    # A name holding bidirectional overrides or other invisible characters can show one thing to the
    # customer and the officer and mean another: refused, not cleaned.
    if not payee_name or hidden_characters(payee_name) or not mentioned(payee_name, message):
        return unclear  # a payee the customer never named, or a name that hides characters
    account = snap.accounts[0]
    named = currencies_in(message)
    if len(named) > 1:
        return Reply(say("which_currency", language))
    currency = next(iter(named), account.currency)  # the customer's words, else the account's own
    if currency != account.currency:
        return Reply(say("currency_unsupported", language, currency=account.currency))
    written = ibans_in(message)
    if len(written) > 1:
        return Reply(say("which_iban", language))
    written_iban = next(iter(written), None)
    known = saved_payee(snap, payee_name)
    if known is None and says_saved_payee(message):
        return Reply(say("payee_not_saved", language, payee=payee_name))
    if known is None and written_iban is None:
        return Reply(say("iban_needed", language, payee=payee_name))
    if known is not None and written_iban and known.iban and written_iban != known.iban:
        return Reply(say("iban_mismatch", language, payee=known.name))
    iban = written_iban or (known.iban if known else None)
    reference = slots.reference if slots.reference and mentioned(slots.reference, message) else None
    if reference and hidden_characters(reference):
        return unclear
    args = {
        "account_id": account.id,
        "amount": str(amount),
        "currency": currency,
        "payee_name": known.name if known else payee_name,
        "payee_iban": iban,
        "payee_country": _iban_country(iban) or (known.country if known else snap.context.country),
        "new_payee": known is None,
        "reference": reference,
    }
    label = "new payee" if known is None else "saved payee"
    return Plan(args, f"transfer {_money(amount, currency)} to {args['payee_name']} ({label})")


async def propose_action(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps, language, intent = runtime.context, state.get("language", "en"), state["intent"]
    # Slots come from the customer's own words only: never from an email or message they pasted.
    message = own_words(state["user_message"])
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
    if isinstance(slots, BlockCardSlots):
        plan = plan_block_card(slots, snap, message, language)
    else:
        assert isinstance(slots, TransferSlots)
        plan = plan_transfer(slots, snap, message, language)
    if isinstance(plan, Reply):
        return {"reply": plan.text, "status": plan.status, "action": None}
    engine = get_engine(deps.settings.policy_dir)
    verdict = engine.check_action(action_request(snap, intent, plan.args, now))
    quoted = re.sub(r"\s+", " ", message)[:300]
    return await record_proposal(
        deps,
        state,
        agent="service",
        action_type=intent,
        args=plan.args,
        summary=plan.summary,
        rationale=f'Customer wrote: "{quoted}". Proposed by the service agent; slots checked against '
        "the message and the ledger.",
        verdict=verdict,
    )
