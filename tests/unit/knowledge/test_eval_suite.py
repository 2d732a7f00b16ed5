"""`finagent eval --suite retrieval` on the fixture corpus and question file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.suites.retrieval import (
    DEV_RECALL_GATE,
    best_threshold,
    first_relevant_rank,
    load_questions,
    score,
    split_of,
)
from finagent.settings import Settings
from tests.unit.knowledge.conftest import FIXTURES


def _run(
    tmp_path: Path, questions: Path, settings: Settings | None = None
) -> tuple[bool, dict[str, Any], str]:
    """The suite through its real entry point (`finagent eval` calls runner.run) on the fixture corpus."""
    settings = settings or Settings(data_dir=tmp_path / "app-data", chroma_url=None)
    out = tmp_path / "out"
    options = {"corpus": FIXTURES / "corpus", "questions": questions}
    passed = runner.run(["retrieval"], out, settings, options, progress=False)
    return passed, json.loads((out / "results.json").read_text()), (out / "report.md").read_text()


def _ids(half: str, count: int) -> list[str]:
    return [i for i in (f"t{n:03d}" for n in range(200)) if split_of(i) == half][:count]


def test_suite_writes_metrics_items_report_and_chart(tmp_path: Path) -> None:
    passed, data, report = _run(tmp_path, FIXTURES / "questions.jsonl")

    assert passed is data["passed"] is True
    assert data["metrics"]["recall@5"] == 1.0
    assert {"mrr", "ndcg@10", "recall@5_en", "recall@5_zh", "recall@5_mixed"} <= data["metrics"].keys()
    assert {"recall@5_dev", "recall@5_heldout", "mrr_heldout", "heldout_misses"} <= data["metrics"].keys()
    assert data["answerable"] == 8 and data["questions"] == 10
    assert {i["split"] for i in data["items"]} == {"dev"}  # f01, f04, f05, f06, f10
    assert len(data["items"]) == 5
    f04 = next(i for i in data["items"] if i["id"] == "f04")
    assert f04["hits"][0]["doc_id"] in f04["gold_doc_ids"]
    halves = data["by_split"]
    assert halves["dev"]["questions"] == halves["heldout"]["questions"] == 4
    assert halves["heldout"]["misses"] == data["metrics"]["heldout_misses"] == 0
    threshold = data["unanswerable_threshold"]
    assert threshold["unanswerable_questions"] == 2
    assert threshold["separation_half"] == "dev" and threshold["best_balanced_accuracy"] == 1.0
    assert (tmp_path / "out" / "retrieval.png").stat().st_size > 0
    assert "I don't know" in report
    assert not (tmp_path / "app-data").exists()  # the app's own store is never touched


def test_refusals_use_the_agents_threshold_for_the_reply_language(tmp_path: Path) -> None:
    # Nothing English is refused, everything Chinese (mixed questions are answered in Chinese) is.
    settings = Settings(
        data_dir=tmp_path / "app", chroma_url=None, kb_min_relevance=0.0, kb_min_relevance_zh=1.0
    )
    _, data, _ = _run(tmp_path, FIXTURES / "questions.jsonl", settings)

    items = data["items"]
    assert {i["reply_language"] for i in items} == {"en", "zh"}
    assert all(i["min_relevance"] == (1.0 if i["reply_language"] == "zh" else 0.0) for i in items)
    # Of the 8 answerable questions, f04 (dev) and f08 (held-out) are answered in Chinese.
    assert data["metrics"]["idk_wrongly_refused_answerable"] == 0.25
    assert data["by_split"]["dev"]["idk_wrongly_refused_answerable"] == 0.25  # f04 of 4
    assert data["by_split"]["heldout"]["idk_wrongly_refused_answerable"] == 0.25  # f08 of 4
    assert data["unanswerable_threshold"]["configured_min_relevance"] == {"en": 0.0, "zh": 1.0}


def _questions(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": qid, "question": text, "gold_doc_ids": [gold], "language": "en"})
        for qid, text, gold in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_only_the_dev_half_gates_and_held_out_texts_never_reach_the_outputs(tmp_path: Path) -> None:
    dev, heldout = _ids("dev", 2), _ids("heldout", 3)
    rows = [
        (dev[0], "lost my card", "card-lost-stolen"),
        (dev[1], "fee for an international wire", "fees-schedule"),
    ]
    # Held-out questions whose gold is wrong: every one misses.
    rows += [(qid, f"zebra-{n} lost my card", "not-in-the-corpus") for n, qid in enumerate(heldout)]
    passed, data, report = _run(tmp_path, _questions(tmp_path, rows))

    assert passed is True  # held-out recall is 0, but it does not gate
    assert data["gates"] == [{"metric": "recall@5_dev", "minimum": DEV_RECALL_GATE}]
    assert data["metrics"]["recall@5_dev"] == 1.0 and data["metrics"]["recall@5_heldout"] == 0.0
    assert data["metrics"]["heldout_misses"] == data["by_split"]["heldout"]["misses"] == 3
    assert "Held-out misses at 5:** 3" in report
    results = (tmp_path / "out" / "results.json").read_text()
    for text in (results, report):
        assert "zebra" not in text
        assert not any(qid in text for qid in heldout)


def test_a_dev_miss_fails_the_gate_and_is_listed(tmp_path: Path) -> None:
    dev, heldout = _ids("dev", 1), _ids("heldout", 1)
    rows = [(dev[0], "lost my card", "not-in-the-corpus"), (heldout[0], "lost my card", "card-lost-stolen")]
    passed, data, report = _run(tmp_path, _questions(tmp_path, rows))

    assert passed is False
    assert data["failed_gates"] == [{"metric": "recall@5_dev", "minimum": DEV_RECALL_GATE}]
    assert f"`{dev[0]}` 'lost my card'" in report  # dev misses are listed, with their text
    assert data["metrics"]["heldout_misses"] == 0


def test_metrics_follow_the_rank_of_the_first_gold_hit() -> None:
    assert first_relevant_rank(["a", "b", "c"], {"c", "z"}) == 3
    assert score(1) == {"recall@5": 1.0, "mrr": 1.0, "ndcg@10": 1.0}
    assert score(6) == {
        "recall@5": 0.0,
        "mrr": pytest.approx(1 / 6),
        "ndcg@10": pytest.approx(1 / 2.807354922),
    }
    assert score(None) == {"recall@5": 0.0, "mrr": 0.0, "ndcg@10": 0.0}


def test_best_threshold_separates_the_groups() -> None:
    cut, accuracy = best_threshold([0.5, 0.6, 0.7], [0.1, 0.2, 0.45])
    assert 0.45 < cut <= 0.5 and accuracy == 1.0


def test_a_question_without_gold_must_be_marked_unanswerable(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "q1", "question": "hi", "gold_doc_ids": []}\n')
    with pytest.raises(ValueError, match=r"q\.jsonl:1: no gold_doc_ids"):
        load_questions(bad)
