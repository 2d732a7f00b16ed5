"""The intent catalogue: every Banking77 intent has a handler, the classifier is cached by its inputs,
and a question only a person can finish today goes to a hand-off."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from agents.catalogue import (
    TRAIN_FILE,
    CatalogueEntry,
    TopicClassifier,
    cache_key,
    load_catalogue,
    load_or_train,
    load_training_data,
)
from agents.router import EmbeddingRouter
from tests.unit.conftest import AppFactory, login, say

CATEGORIES = json.loads((TRAIN_FILE.parent / "categories.json").read_text())


def test_every_banking77_intent_has_a_handler() -> None:
    catalogue = load_catalogue()
    assert sorted(catalogue.intents) == sorted(CATEGORIES)
    _, labels = load_training_data()
    assert set(labels) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"handler": "action"}, "names its action"),
        ({"handler": "answer", "action": "block_card"}, "names its action"),
        ({"handler": "action", "action": "launch_rocket"}, "unknown action"),
        ({"handler": "handoff"}, "`why`"),
        ({"handler": "escalate"}, "handler"),
    ],
)
def test_a_bad_catalogue_entry_is_refused(entry: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CatalogueEntry.model_validate(entry)


def test_training_data_needs_its_columns(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("query,label\nhello,greeting\n")
    with pytest.raises(ValueError, match="text,category"):
        load_training_data(bad)


def _toy_embed(texts: Sequence[str]) -> np.ndarray:
    """Two-dimensional 'embeddings': enough for the classifier's plumbing, not for its quality."""
    rows = np.array([[1.0 + t.count("card"), 1.0 + t.count("transfer")] for t in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _toy_data(tmp_path: Path) -> Path:
    data = tmp_path / "train.csv"
    rows = ["text,category"]
    rows += [f"where is my new card {i},card_arrival" for i in range(6)]
    rows += [f"my transfer has not arrived {i},pending_transfer" for i in range(6)]
    data.write_text("\n".join(rows) + "\n")
    return data


def test_the_trained_classifier_is_cached_by_its_inputs(tmp_path: Path) -> None:
    data = _toy_data(tmp_path)
    calls: list[int] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return _toy_embed(texts)

    first = load_or_train(embed, "toy", tmp_path / "cache", data)
    assert calls == [12]  # trained: every training sentence embedded once
    second = load_or_train(embed, "toy", tmp_path / "cache", data)
    assert calls == [12]  # loaded from the cache: nothing embedded
    assert second.predict(["my new card still has not come"])[0].intent == "card_arrival"
    assert first.intents == second.intents == ["card_arrival", "pending_transfer"]
    key = cache_key("toy", data)
    assert cache_key("another embedder", data) != key
    data.write_text(data.read_text() + "where is the card,card_arrival\n")
    assert cache_key("toy", data) != key


def test_an_untrained_classifier_says_so() -> None:
    with pytest.raises(RuntimeError, match="not trained"):
        TopicClassifier(_toy_embed).predict(["hello"])


@pytest.mark.parametrize(
    ("message", "intent", "topic"),
    [
        ("I want to close my account", "handoff", "terminate_account"),
        ("There is a payment on my card that I don't recognise", "handoff", "card_payment_not_recognised"),
        ("How do I close my account?", "question", "terminate_account"),
        ("How long does it take for a new card to arrive?", "question", "card_delivery_estimate"),
    ],
)
def test_a_topic_only_a_person_can_finish_goes_to_a_handoff(
    router: EmbeddingRouter, message: str, intent: str, topic: str
) -> None:
    route = router.classify(message)
    assert route is not None
    assert (route.intent, route.topic) == (intent, topic)


def test_closing_an_account_in_the_chat_gets_a_person_without_a_model_call(make_client: AppFactory) -> None:
    from agents.language import say as phrase

    client = make_client()  # an empty script: a model call would fail the test
    _, final = say(client, login(client, "alice"), "I want to close my account")
    assert final["content"] == phrase("handoff", "en")
    assert final["status"] == "no_answer"


def test_the_routing_suite_cross_validates_and_reports(tmp_path: Path) -> None:
    """The suite's own plumbing on a slice of the training data: folds, figures, chart, report."""
    from evals.base import SuiteContext
    from evals.suites import routing
    from finagent.settings import Settings

    texts, labels = load_training_data()
    keep = {"card_arrival", "terminate_account", "exchange_rate"}
    pairs = list(zip(texts, labels, strict=True))
    rows = [row for c in sorted(keep) for row in [[t, c] for t, c2 in pairs if c2 == c][:50]]
    data = tmp_path / "slice.csv"
    with data.open("w", newline="") as fh:
        csv.writer(fh).writerows([["text", "category"], *rows])
    ctx = SuiteContext(
        out_dir=tmp_path, settings=Settings(), options={"data": data, "folds": 3, "latency_queries": 5},
        show_progress=False,
    )  # fmt: skip
    result = routing.run(ctx)
    assert 0.8 < result.metrics["accuracy"] <= 1.0  # three well-separated intents
    assert result.metrics["catalogue_coverage"] == 1.0
    assert result.metrics["p50_ms"] > 0
    assert [i["intent"] for i in result.items] and (tmp_path / result.charts[0]).exists()
    assert "3-fold cross-validation" in result.report_md
