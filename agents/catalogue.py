"""The intent catalogue: Banking77's 77 service intents, each mapped to a handler, and its classifier.

The classifier is a linear SVM over two views of a message: the sentence embedding the router already
computes (meaning) and TF-IDF word and character n-grams (the exact words: "top-up" against "transfer",
"PIN" against "passcode"). Neither view alone reaches the other's errors: on the shipped training split,
5-fold cross-validation gives 0.92 accuracy for a linear head on the frozen embedding, 0.90 for the
n-grams, and 0.93 for both (`finagent eval --suite routing` measures it; docs/agents.md records it).

Training embeds 10,003 sentences (about half a minute on two cores), so a trained classifier is kept in
the cache directory under a key of everything it depends on: the data's hash, the embedder, the
feature recipe and scikit-learn's version.
"""

from __future__ import annotations

import csv
import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, model_validator

from agents.router import Embed

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")
TRAIN_FILE = ROOT / "data" / "banking77" / "train.csv"
ACTIONS = ("block_card", "transfer")  # the actions the service agent can propose today
FEATURES_VERSION = "emb2+word12+char25/linearsvc-c0.5/v1"  # change it whenever the recipe changes


class CatalogueEntry(BaseModel):
    handler: Literal["answer", "action", "handoff"]
    action: str | None = None
    why: str | None = None

    @model_validator(mode="after")
    def _action_named(self) -> CatalogueEntry:
        if (self.handler == "action") != (self.action is not None):
            raise ValueError("an `action` handler names its action, and only it does")
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; known: {', '.join(ACTIONS)}")
        if self.handler == "handoff" and not self.why:
            raise ValueError("a hand-off says `why` no self-service handler exists")
        return self


class Catalogue(BaseModel):
    version: str
    intents: dict[str, CatalogueEntry]


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    return Catalogue.model_validate(yaml.safe_load(path.read_text()))


def load_training_data(path: Path = TRAIN_FILE) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"text", "category"} <= set(rows[0]):
        raise ValueError(f"{path}: expected columns text,category")
    return [r["text"] for r in rows], [r["category"] for r in rows]


@dataclass(frozen=True)
class Topic:
    intent: str
    margin: float  # top score minus the runner-up's: how clearly the classifier chose


class TopicClassifier:
    """Linear SVM over [embedding * weight | word 1-2-gram TF-IDF | char 2-5-gram TF-IDF]."""

    def __init__(self, embed: Embed, *, embedding_weight: float = 2.0, c: float = 0.5) -> None:
        self._embed = embed
        self.embedding_weight = embedding_weight
        self.c = c
        self._model: Any = None
        self._words: Any = None
        self._chars: Any = None

    def _features(self, texts: Sequence[str], embedded: np.ndarray | None = None) -> Any:
        from scipy.sparse import csr_matrix, hstack

        vectors = self._embed(list(texts)) if embedded is None else embedded
        return hstack(
            [
                self._words.transform(texts),
                self._chars.transform(texts),
                csr_matrix(np.asarray(vectors) * self.embedding_weight),
            ]
        ).tocsr()

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], embedded: np.ndarray | None = None
    ) -> TopicClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self._chars.fit(texts)
        self._model = LinearSVC(C=self.c).fit(self._features(texts, embedded), list(labels))
        return self

    @property
    def intents(self) -> list[str]:
        return [str(c) for c in self._model.classes_]

    def predict(self, texts: Sequence[str], embedded: np.ndarray | None = None) -> list[Topic]:
        if self._model is None:
            raise RuntimeError("the topic classifier is not trained")
        scores = self._model.decision_function(self._features(texts, embedded))
        if scores.ndim == 1:  # two intents: one signed score, for the second class
            scores = np.column_stack([-scores, scores])
        order = np.argsort(-scores, axis=1)
        classes = self._model.classes_
        return [
            Topic(str(classes[o[0]]), float(row[o[0]] - row[o[1]]))
            for row, o in zip(scores, order, strict=True)
        ]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_embed"] = None  # the embedder is a process resource, bound again on load
        return state


def cache_key(embedder_id: str, data: Path = TRAIN_FILE) -> str:
    import sklearn

    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    recipe = f"{digest}|{embedder_id}|{FEATURES_VERSION}|sklearn-{sklearn.__version__}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:24]


def load_or_train(
    embed: Embed, embedder_id: str, cache_dir: Path, data: Path = TRAIN_FILE
) -> TopicClassifier:
    """The trained classifier from the cache, or trained now and cached (a file only this project writes)."""
    path = cache_dir / "catalogue" / f"topics-{cache_key(embedder_id, data)}.pkl"
    if path.exists():
        with path.open("rb") as fh:
            clf: TopicClassifier = pickle.load(fh)  # noqa: S301 - our own cache file, keyed by its inputs
        clf._embed = embed
        return clf
    texts, labels = load_training_data(data)
    clf = TopicClassifier(embed).fit(texts, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(clf, fh)
    tmp.replace(path)  # atomic: a second process never reads half a file
    return clf
