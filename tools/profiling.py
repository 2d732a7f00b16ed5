"""The risk-profiling questionnaire, read and scored deterministically.

A customer answers in their own words or with a button; `parse_answer` maps the text to one option of
the current question (its number or letter, its label in English or Chinese, the pack's patterns, or a
number in the text for questions with numeric bands). Anything that matches no option, or more than
one, is not an answer: the question is asked again. `score_profile` adds the points, applies the
knock-outs (an answer can cap the class whatever the points say) and returns the answers that drove
the class. No model is involved: the model may rephrase a question, never read or score an answer.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel

from policies.schema import Question, QuestionnaireRule, QuestionOption, RiskClass
from tools.policy_engine import PolicyEngine

_CLASSES: tuple[RiskClass, ...] = ("C1", "C2", "C3", "C4", "C5")
_LETTERS = "abcdefgh"
_PUNCT = re.compile(r"[\s.,;:!?。，；：！？、\"'“”‘’()（）]+")


def questionnaire(engine: PolicyEngine) -> QuestionnaireRule:
    return engine.policies.of_kind(QuestionnaireRule)[0]


def _plain(text: str) -> str:
    return _PUNCT.sub(" ", text.casefold()).strip()


def _by_position(question: Question, text: str) -> QuestionOption | None:
    """ "2", "b", "b)", "option 2", "选2", "第2项" pick by position."""
    m = re.fullmatch(r"(?:option|answer|choice|选项?|第)?\s*([1-9]|[a-h])\s*(?:项|个)?", _plain(text))
    if m is None:
        return None
    key = m.group(1)
    index = int(key) - 1 if key.isdigit() else _LETTERS.index(key)
    return question.options[index] if 0 <= index < len(question.options) else None


def _by_number(question: Question, text: str) -> QuestionOption | None:
    if question.numeric is None:
        return None
    found = re.search(question.numeric.pattern, text, re.IGNORECASE)
    if found is None:
        return None
    value = float(next(g for g in found.groups() if g is not None))
    for band in question.numeric.bands:
        if band.below is None or value < band.below:
            return next(o for o in question.options if o.id == band.option)
    return None


def parse_answer(question: Question, text: str) -> QuestionOption | None:
    """The option the customer's text picks, or None when it picks none or several."""
    picked = _by_position(question, text)
    if picked is not None:
        return picked
    plain = _plain(text)
    exact = [o for o in question.options if plain in {_plain(o.label), _plain(o.label_zh)}]
    if len(exact) == 1:
        return exact[0]
    numeric = _by_number(question, text)
    if numeric is not None:
        return numeric
    hits = [o for o in question.options if any(re.search(p, text, re.IGNORECASE) for p in o.matches)]
    return hits[0] if len(hits) == 1 else None


class Driver(BaseModel):
    """One answer and what it did to the class."""

    question_id: str
    section: str
    question: str
    answer: str
    answer_zh: str
    points: int
    cap: RiskClass | None = None


class ProfileScore(BaseModel):
    risk_class: RiskClass
    points_class: RiskClass  # the class the points alone give
    points: int
    max_points: int
    capped_by: list[str]  # question ids whose answer capped the class
    drivers: list[Driver]  # every answer, with its points and cap
    signals: list[str]  # e.g. "vulnerable"
    questionnaire_version: str
    policy_version: str


def score_profile(answers: dict[str, str], engine: PolicyEngine) -> ProfileScore:
    """Answers map question id -> option id; every question must be answered exactly once."""
    rule = questionnaire(engine)
    questions = {q.id: q for q in rule.questions}
    unknown = sorted(set(answers) - set(questions))
    missing = sorted(set(questions) - set(answers))
    if unknown or missing:
        raise ValueError(f"questionnaire answers: unknown {unknown}, missing {missing}")
    drivers, signals = [], set()
    for q in rule.questions:
        option = next((o for o in q.options if o.id == answers[q.id]), None)
        if option is None:
            raise ValueError(f"question {q.id!r} has no option {answers[q.id]!r}")
        signals.update(option.signals)
        drivers.append(
            Driver(
                question_id=q.id,
                section=q.section,
                question=q.text,
                answer=option.label,
                answer_zh=option.label_zh,
                points=option.points,
                cap=option.cap,
            )
        )
    points = sum(d.points for d in drivers)
    by_points: RiskClass = "C1"
    for cls, minimum in sorted(rule.bands.items(), key=lambda kv: kv[1]):
        if points >= minimum:
            by_points = cls
    caps = [d for d in drivers if d.cap is not None and _CLASSES.index(d.cap) < _CLASSES.index(by_points)]
    final = min((d.cap for d in caps if d.cap), key=_CLASSES.index, default=by_points)
    return ProfileScore(
        risk_class=final,
        points_class=by_points,
        points=points,
        max_points=sum(max(o.points for o in q.options) for q in rule.questions),
        capped_by=[d.question_id for d in caps],
        drivers=drivers,
        signals=sorted(signals),
        questionnaire_version=rule.questionnaire_version,
        policy_version=engine.version,
    )


def expires_at(completed: datetime, engine: PolicyEngine) -> datetime:
    return completed + timedelta(days=questionnaire(engine).valid_days)
