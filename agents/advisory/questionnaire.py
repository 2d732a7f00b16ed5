"""Risk profiling as a conversation: one question at a time, answered with a button or in the
customer's own words, read by tools.profiling (never by the model), stored after every answer.

A questionnaire in progress is a `risk_profiles` row with status "in_progress" and the question last
asked. When the last question is answered the profile is scored and becomes the profile of record
("active"); the one before it is superseded. A customer can go back, change any answer (also after
finishing: the changed profile is scored again), see the profile, retake it, or say their situation
changed, which withdraws the profile at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.advisory.phrases import CLASS_NAMES, phrase
from finagent import audit
from finagent.models import RiskProfile, utcnow
from policies.schema import Question, QuestionnaireRule
from tools.banking import current_profile
from tools.policy_engine import PolicyEngine
from tools.profiling import ProfileScore, expires_at, parse_answer, questionnaire, score_profile


async def in_progress(session: AsyncSession, customer_id: str) -> RiskProfile | None:
    return await session.scalar(
        select(RiskProfile)
        .where(RiskProfile.customer_id == customer_id, RiskProfile.status == "in_progress")
        .order_by(RiskProfile.id.desc())
        .limit(1)
    )


def _label(option_label: str, option_zh: str, language: str) -> str:
    return option_zh if language == "zh" else option_label


def ask(rule: QuestionnaireRule, question: Question, language: str) -> dict[str, Any]:
    """The reply that asks one question, with its answers as buttons."""
    n = [q.id for q in rule.questions].index(question.id) + 1
    labels = [_label(o.label, o.label_zh, language) for o in question.options]
    options = "\n".join(f"{i}) {label}" for i, label in enumerate(labels, 1))
    text = question.text_zh if language == "zh" else question.text
    return {
        "reply": phrase("question", language, n=n, total=len(rule.questions), text=text, options=options),
        "status": "question",
        "choices": [{"label": label, "value": label} for label in labels],
    }


def _next_unanswered(rule: QuestionnaireRule, answers: dict[str, Any]) -> Question | None:
    return next((q for q in rule.questions if q.id not in answers), None)


async def start(
    session: AsyncSession,
    rule: QuestionnaireRule,
    customer_id: str,
    language: str,
    answers: dict[str, str],
    first: Question,
) -> dict[str, Any]:
    """A new draft (answers copied when one answer is being changed), asking `first`."""
    draft = await in_progress(session, customer_id)
    if draft is not None:
        draft.status = "abandoned"
    draft = RiskProfile(
        customer_id=customer_id,
        status="in_progress",
        language=language,
        answers=answers,
        questionnaire_version=rule.questionnaire_version,
        current_question=first.id,
    )
    session.add(draft)
    await session.flush()
    await audit.record(
        session,
        actor=f"customer:{customer_id}",
        kind="profile.started",
        subject=customer_id,
        payload={
            "profile_id": draft.id,
            "questionnaire_version": rule.questionnaire_version,
            "changing": first.id if answers else None,
        },
    )
    return ask(rule, first, language)


def profile_summary(row: RiskProfile, rule: QuestionnaireRule, language: str) -> str:
    score = ProfileScore.model_validate(row.score)
    zh = language == "zh"
    numbered = {q.id: i for i, q in enumerate(rule.questions, 1)}
    answers = "\n".join(
        f"{numbered.get(d.question_id, '?')}. "
        f"{next((q.text_zh if zh else q.text for q in rule.questions if q.id == d.question_id), d.question)} "
        f"{d.answer_zh if zh else d.answer}"
        for d in score.drivers
    )
    capped = ""
    if score.capped_by:
        texts = [q.text_zh if zh else q.text for q in rule.questions if q.id in score.capped_by]
        capped = phrase("capped", language, cls=score.risk_class, questions="; ".join(texts))
    lang = "zh" if zh else "en"
    return phrase(
        "profile",
        language,
        cls=score.risk_class,
        name=CLASS_NAMES[score.risk_class][lang],
        version=row.questionnaire_version,
        date=f"{row.completed_at:%Y-%m-%d}",
        expires=f"{row.expires_at:%Y-%m-%d}",
        points=score.points,
        max_points=score.max_points,
        points_cls=score.points_class,
        capped=capped,
        answers=answers,
    )


async def complete(
    session: AsyncSession, engine: PolicyEngine, draft: RiskProfile, now: datetime
) -> RiskProfile:
    """Score the finished draft; it becomes the profile of record, the earlier one is superseded."""
    score = score_profile(draft.answers, engine)
    earlier = (
        await session.scalars(
            select(RiskProfile).where(
                RiskProfile.customer_id == draft.customer_id, RiskProfile.status == "active"
            )
        )
    ).all()
    for row in earlier:
        row.status = "superseded"
    draft.status = "active"
    draft.current_question = None
    draft.risk_class = score.risk_class
    draft.score = score.model_dump(mode="json")
    draft.policy_version = engine.version
    draft.completed_at = now
    draft.expires_at = expires_at(now, engine)
    await audit.record(
        session,
        actor=f"customer:{draft.customer_id}",
        kind="profile.completed",
        subject=draft.customer_id,
        payload={"profile_id": draft.id, "score": draft.score, "superseded": [r.id for r in earlier]},
    )
    return draft


async def answer(
    session: AsyncSession, engine: PolicyEngine, draft: RiskProfile, text: str, language: str
) -> tuple[dict[str, Any], RiskProfile | None]:
    """Read the customer's answer to the current question. Returns the reply and, when this answer
    finished the questionnaire, the new profile."""
    rule = questionnaire(engine)
    question = next((q for q in rule.questions if q.id == draft.current_question), None)
    if question is None:  # the pack changed under a draft: start again with this version's questions
        return await start(session, rule, draft.customer_id, language, {}, rule.questions[0]), None
    option = parse_answer(question, text)
    if option is None:
        asked = ask(rule, question, language)
        return asked | {"reply": f"{phrase('unclear_answer', language)}\n{asked['reply']}"}, None
    draft.answers = {**draft.answers, question.id: option.id}
    draft.language = language
    await audit.record(
        session,
        actor=f"customer:{draft.customer_id}",
        kind="profile.answered",
        subject=draft.customer_id,
        payload={"profile_id": draft.id, "question": question.id, "option": option.id, "text": text[:200]},
    )
    following = _next_unanswered(rule, draft.answers)
    if following is not None:
        draft.current_question = following.id
        return ask(rule, following, language), None
    done = await complete(session, engine, draft, utcnow())
    return {"reply": profile_summary(done, rule, language), "status": "answered", "choices": []}, done


def go_back(rule: QuestionnaireRule, draft: RiskProfile, language: str) -> dict[str, Any]:
    ids = [q.id for q in rule.questions]
    here = ids.index(draft.current_question) if draft.current_question in ids else 0
    previous = rule.questions[max(0, here - 1)]
    draft.current_question = previous.id
    return ask(rule, previous, language)


async def change(
    session: AsyncSession,
    rule: QuestionnaireRule,
    customer_id: str,
    number: int,
    language: str,
    now: datetime,
) -> dict[str, Any] | None:
    """Re-ask question `number` of the draft, or of the current profile (a new draft with its answers)."""
    if not 1 <= number <= len(rule.questions):
        return None
    question = rule.questions[number - 1]
    draft = await in_progress(session, customer_id)
    if draft is not None:
        draft.current_question = question.id
        return ask(rule, question, language)
    profile = await current_profile(session, customer_id, now)
    if profile is None or profile.questionnaire_version != rule.questionnaire_version:
        return None
    answers = {k: v for k, v in profile.answers.items() if k != question.id}
    return await start(session, rule, customer_id, language, answers, question)
