"""`finagent eval --suite retrieval` on the fixture corpus and question file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import runner
from evals.suites.retrieval import best_threshold, first_relevant_rank, load_questions, score
from finagent.settings import Settings
from tests.unit.knowledge.conftest import FIXTURES


def test_suite_writes_metrics_items_report_and_chart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "app-data", chroma_url=None)
    out = tmp_path / "out"
    options = {"corpus": FIXTURES / "corpus", "questions": FIXTURES / "questions.jsonl"}
    passed = runner.run(["retrieval"], out, settings, options, progress=False)

    data = json.loads((out / "results.json").read_text())
    assert passed is data["passed"] is True
    assert data["metrics"]["recall@5"] == 1.0
    assert {"mrr", "ndcg@10", "recall@5_en", "recall@5_zh", "recall@5_mixed"} <= data["metrics"].keys()
    assert data["answerable"] == 8 and len(data["items"]) == 10
    f04 = next(i for i in data["items"] if i["id"] == "f04")
    assert f04["hits"][0]["doc_id"] in f04["gold_doc_ids"]
    assert {i["split"] for i in data["items"]} == {"dev", "heldout"}
    halves = data["by_split"]
    assert halves["dev"]["questions"] + halves["heldout"]["questions"] == data["answerable"]
    threshold = data["unanswerable_threshold"]
    assert threshold["unanswerable_questions"] == 2 and threshold["best_balanced_accuracy"] == 1.0
    assert (out / "retrieval.png").stat().st_size > 0
    assert "I don't know" in (out / "report.md").read_text()
    assert not (tmp_path / "app-data").exists()  # the app's own store is never touched


def test_refusals_use_the_agents_threshold_for_the_reply_language(tmp_path: Path) -> None:
    # Nothing English is refused, everything Chinese (mixed questions are answered in Chinese) is.
    settings = Settings(
        data_dir=tmp_path / "app", chroma_url=None, kb_min_relevance=0.0, kb_min_relevance_zh=1.0
    )
    options = {"corpus": FIXTURES / "corpus", "questions": FIXTURES / "questions.jsonl"}
    runner.run(["retrieval"], tmp_path / "out", settings, options, progress=False)

    data = json.loads((tmp_path / "out" / "results.json").read_text())
    items = data["items"]
    assert {i["reply_language"] for i in items} == {"en", "zh"}
    assert all(i["min_relevance"] == (1.0 if i["reply_language"] == "zh" else 0.0) for i in items)
    answerable = [i for i in items if not i["unanswerable"]]
    chinese = sum(i["reply_language"] == "zh" for i in answerable)
    assert data["metrics"]["idk_wrongly_refused_answerable"] == pytest.approx(
        chinese / len(answerable), abs=1e-4
    )
    assert data["unanswerable_threshold"]["configured_min_relevance"] == {"en": 0.0, "zh": 1.0}


def test_a_wrong_gold_id_fails_the_gate(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "x1", "question": "lost my card", "gold_doc_ids": ["not-in-the-corpus"], "language": "en"}\n'
    )
    settings = Settings(data_dir=tmp_path / "app", chroma_url=None)
    options = {"corpus": FIXTURES / "corpus", "questions": questions}
    assert runner.run(["retrieval"], tmp_path / "out", settings, options, progress=False) is False
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["failed_gates"] == [{"metric": "recall@5", "minimum": 0.95}]
    assert "x1" in (tmp_path / "out" / "report.md").read_text()


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
