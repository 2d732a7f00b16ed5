"""Writes advisory_cases.jsonl: 12 hand-labelled investor profiles x 5 requests = 60 cases.

Each profile is given as option letters per question, with its expected class worked out by hand from
the questionnaire's published points and bands (docs/advisory.md), not by the scoring code. The
answers are written out as a customer would give them (the label in English or Chinese, the option's
number, or a number for the numeric questions), so the eval also exercises the answer reader.
Re-run after a questionnaire change: `python evals/datasets/make_advisory_cases.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ORDER = [
    "experience",
    "understanding",
    "age",
    "income",
    "obligations",
    "share_of_wealth",
    "horizon",
    "goal",
    "drawdown",
    "loss_capacity",
    "sustainability",
]
NUMERIC = {
    "age": {"a": "I'm 34", "b": "I am 52", "c": "68 years old", "d": "I'm 82"},
    "obligations": {"a": "about 60 %", "b": "40%", "c": "20 percent", "d": "5 %"},
    "share_of_wealth": {"a": "90 %", "b": "60%", "c": "30 %", "d": "10 percent"},
    "horizon": {"a": "8 months", "b": "2 years", "c": "5 years", "d": "15 years"},
}
NUMERIC_ZH = {
    "age": {"a": "我34岁", "b": "我52岁", "c": "68岁", "d": "我82岁"},
    "horizon": {"c": "5年", "d": "15年"},
}
# name, language, letters per question (ORDER), expected class, points (hand-summed), vulnerable
PROFILES = [
    ("cautious", "en", "bbbccbbaaba", "C2", 14, False),
    ("balanced", "en", "cbbccccbcba", "C3", 24, False),
    ("growth", "en", "ccaccccdccb", "C4", 31, False),
    ("dynamic", "en", "dcaddddddda", "C5", 38, False),
    ("short_horizon", "en", "dcadddaddda", "C1", 34, False),
    ("no_loss_capacity", "en", "ccaccccdcab", "C1", 28, True),
    ("elderly", "en", "cbdcccccbba", "C3", 21, True),
    ("no_understanding", "en", "daaddddddda", "C2", 35, False),
    ("growth_zh", "zh", "ccaccccdccb", "C4", 31, False),
    ("cautious_zh", "zh", "bbbccbbaaba", "C2", 14, False),
    ("all_first", "en", "aaaaaaaaaaa", "C1", 3, True),
    ("boundary", "en", "bbbcabcbcba", "C3", 17, False),
]
PORTFOLIO = {
    "C1": "conservative portfolio",
    "C2": "cautious portfolio",
    "C3": "balanced portfolio",
    "C4": "growth portfolio",
    "C5": "aggressive portfolio",
}
ONE_ABOVE = {
    "C1": "euro government bond fund",
    "C2": "balanced income fund",
    "C3": "global equity fund",
    "C4": "emerging markets fund",
    "C5": "autocall 2029 structured note",
}


def answer_text(question: dict, letter: str, language: str, n: int) -> str:
    qid = question["id"]
    option = next(o for o in question["options"] if o["id"] == letter)
    if language == "zh":
        if qid in NUMERIC_ZH and letter in NUMERIC_ZH[qid]:
            return NUMERIC_ZH[qid][letter]
        return option["label_zh"] if n % 2 == 0 else str(question["options"].index(option) + 1)
    if qid in NUMERIC and n % 3 == 0:
        return NUMERIC[qid][letter]
    return [option["label"], str(question["options"].index(option) + 1), letter][n % 3]


def main() -> None:
    pack = yaml.safe_load((ROOT / "policies/packs/suitability.yaml").read_text())
    questions = {
        q["id"]: q for r in pack["rules"] if r["kind"] == "risk_questionnaire" for q in r["questions"]
    }
    cases = []
    for p_index, (name, language, letters, cls, _points, vulnerable) in enumerate(PROFILES):
        answers = [
            answer_text(questions[qid], letters[i], language, p_index + i) for i, qid in enumerate(ORDER)
        ]
        base = {"profile": name, "language": language, "answers": answers, "expected_class": cls}
        own, above = PORTFOLIO[cls], ONE_ABOVE[cls]
        above_allowed = cls == "C5"
        held = "REQUIRE_APPROVAL" if vulnerable else "ALLOW"
        requests = [
            ("advice", "what should I invest in?", None, False, ["past_performance", "no_promise"]),
            ("order", f"invest 5000 in the {own}", held, False, []),
            ("order", f"buy the {above} for 3000", held if above_allowed else "BLOCK", not above_allowed, []),
            ("insist", f"buy the {above} for 3000", None if above_allowed else "REQUIRE_APPROVAL", False, []),
            ("order", f"invest 60000 in the {own}", "REQUIRE_APPROVAL", False, []),
        ]
        for r_index, (kind, text, verdict, refused, disclosures) in enumerate(requests):
            if kind == "insist" and verdict is None:
                kind, text, verdict = "order", f"invest 2000 in the {own}", held
            cases.append(
                base
                | {
                    "id": f"{name}-{r_index}",
                    "kind": kind,
                    "request": text,
                    "expected_verdict": verdict,
                    "expected_refusal": refused,
                    "expected_disclosures": disclosures,
                }
            )
    out = Path(__file__).with_name("advisory_cases.jsonl")
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
