"""Service agent, knowledge side: answers from the knowledge base with citations, never a guessed number.

The model's answer is released a sentence at a time, and only after every check that could remove the
sentence has passed on all the text so far (invariant 11): compliance, numbers and names, groundedness.
What fails is held back with everything after it, and the documentation's own words follow instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.compliance import releasable
from agents.deps import Deps
from agents.language import say
from agents.service.prompts import ANSWER_SYSTEM
from agents.state import ConversationState
from finagent.llm import LLMError
from finagent.sanitize import clean_text
from knowledge.grounding import extract_facts, fact_supported
from knowledge.types import Hit, KnowledgeUnavailable

log = logging.getLogger(__name__)

# A sentence ends at . ! ? followed by white space (so "0.25" is not split) or at Chinese full stops.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?=\s)|(?<=[。！？\n])")
MAX_PASSAGE_CHARS = 900
PASSAGE_MARGIN = 0.08


def _passages(hits: list[Hit]) -> str:
    return "\n\n".join(
        f"[{i}] {h.title} - {h.section}\n{h.text[:MAX_PASSAGE_CHARS]}" for i, h in enumerate(hits, 1)
    )


def citations_for(hits: list[Hit]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for h in hits:
        if (h.doc_id, h.section) not in seen:
            seen.add((h.doc_id, h.section))
            out.append({"doc_id": h.doc_id, "title": h.title, "section": h.section})
    return out


def _plain(markdown: str) -> str:
    """Markdown tables and emphasis as plain chat lines: "| fee | EUR 15 |" becomes "fee: EUR 15"."""
    lines = []
    for line in markdown.splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        )
        if cells is not None:
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the header separator
            line = f"{cells[0]}: {' · '.join(cells[1:])}" if len(cells) > 1 else cells[0]
        lines.append(line.replace("**", "").rstrip())
    return "\n".join(lines).strip()


def extractive_reply(lead: str, hit: Hit) -> str:
    excerpt = _plain(hit.text)
    if len(excerpt) > 600:
        excerpt = excerpt[:600].rsplit(" ", 1)[0] + " …"
    heading = f"{hit.title} – {hit.section}" if hit.section else hit.title
    return f"{lead}\n\n{heading}:\n{excerpt}"


async def gated_sentences(
    tokens: AsyncIterator[str], passes: Callable[[str], bool]
) -> AsyncIterator[tuple[str, bool]]:
    """Release text a sentence at a time, only while everything written so far passes the checks.

    Yields (sentence, released). Once a sentence fails, nothing more is released, so a prohibited claim
    never reaches the customer's screen, even for a moment.
    """
    buffer, text, released = "", "", True
    async for token in tokens:
        buffer += token
        parts = _SENTENCE_END.split(buffer)
        for sentence in parts[:-1]:
            text += sentence
            released = released and passes(text)
            yield sentence, released
        buffer = parts[-1]
    if buffer:
        text += buffer
        released = released and passes(text)
        yield buffer, released


# A capitalised word inside a sentence is a name: a product, a company, a place, a coin.
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<![\n])\b([A-Z][A-Za-z]{2,})\b")


def _names(text: str) -> set[str]:
    return {m.lower() for m in _NAME.findall(text)}


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


_PROMPT_WORDS = _words(ANSWER_SYSTEM)


def passes_checks(text: str, allowed_facts: set[str], allowed_words: set[str]) -> bool:
    """Deterministic checks before release: compliance, and no number or name that neither the passages
    nor the customer wrote (a small model will happily recommend "Bitcoin"). Numbers compare as the
    groundedness check reads them: "EUR 15.00" = "EUR 15", "4 pm" = "16:00"."""
    if not releasable(text):
        return False
    facts_known = all(fact_supported(fact, allowed_facts) for fact in extract_facts(text))
    return facts_known and _names(text) <= allowed_words


def _answered(reply: str, streamed: str, hits: list[Hit], **extra: Any) -> dict[str, Any]:
    return {
        "reply": reply,
        "streamed": streamed,
        "status": "answered",
        "citations": citations_for(hits),
        "product_types": sorted({h.product_type for h in hits}),
        "hits": [h.model_dump() for h in hits],
    } | extra


async def answer(state: ConversationState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps, language = runtime.context, state.get("language", "en")
    query = state["user_message"]
    try:
        hits = await asyncio.to_thread(deps.retriever.search, query, k=5, audience="public")
    except KnowledgeUnavailable as exc:  # say so and offer a person; actions still work meanwhile
        log.warning("knowledge base unavailable: %s", exc)
        return {
            "reply": say("kb_down", language),
            "status": "no_answer",
            "citations": [],
            "notice": "kb_unavailable",
        }
    # Answerable when the best match is close enough; then the fused ranking picks the passages.
    # Chinese questions have a threshold of their own: they are compared through an English gloss.
    best = max((h.relevance for h in hits), default=0.0)
    if best < deps.settings.min_relevance(language):
        return {"reply": say("no_answer", language), "status": "no_answer", "citations": [], "hits": []}
    # A small model blends whatever it is given: keep only passages nearly as relevant as the best one.
    top = [h for h in hits[:3] if h.relevance >= best - PASSAGE_MARGIN] or hits[:1]
    messages = [
        {
            "role": "system",
            "content": ANSWER_SYSTEM.format(
                passages=_passages(top), language="Chinese" if language == "zh" else "English"
            ),
        },
        *state.get("history", [])[-4:],
        {"role": "user", "content": query},
    ]
    # Numbers may come from the passages or from the customer's own message, nowhere else.
    sources = " ".join(f"{h.title} {h.section} {h.text}" for h in top) + " " + query
    allowed = extract_facts(sources)
    allowed_words = _words(sources) | _PROMPT_WORDS  # the prompt itself names the bank

    def passes(text: str) -> bool:
        # Every check that could take a sentence back runs before it is released, on all the text so
        # far: compliance, invented numbers and names, and the groundedness check of the whole reply.
        return passes_checks(text, allowed, allowed_words) and deps.check_grounding(text, top).grounded

    write = get_stream_writer()
    released: list[str] = []
    held_back = False
    try:
        async for sentence, ok in gated_sentences(deps.llm.stream(messages), passes):
            if ok:
                sentence = clean_text(sentence, multiline=True)  # no invisible controls from the model
                released.append(sentence)
                write({"type": "token", "text": sentence})
            else:
                held_back = True
    except LLMError:
        # The model failed, perhaps mid-answer: keep what was released, add the documentation's words.
        return _answered(_with_excerpt(released, say("llm_down", language), top[0]), "".join(released),
                         top[:1] if not released else top, notice="llm_unavailable")  # fmt: skip
    reply = "".join(released).strip()
    if not reply or held_back:
        # A sentence did not pass (an unsupported number or claim): what was released stays, and the
        # documentation's own words follow instead of the rest.
        return _answered(_with_excerpt(released, say("ungrounded", language), top[0]), "".join(released),
                         top[:1] if not released else top, notice="ungrounded_replaced")  # fmt: skip
    return _answered(reply, "".join(released), top)


def _with_excerpt(released: list[str], lead: str, hit: Hit) -> str:
    """The released sentences, then the documentation's own words."""
    before = "".join(released)
    return (
        f"{before.rstrip()}\n\n{extractive_reply(lead, hit)}"
        if before.strip()
        else extractive_reply(lead, hit)
    )
