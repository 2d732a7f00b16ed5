"""The BM25 side of hybrid retrieval, with a tokenizer for English and Chinese.

English words are lower-cased, stop words dropped and stemmed (Snowball); Chinese runs are
segmented by jieba in search mode, which emits both words and their sub-words, so "手续费" also
matches "手续". Customers misspell: a query word that is not in the index vocabulary is mapped to
the closest vocabulary word when one is close enough, never to a far one. "Close enough" is the
usual search-engine rule (Lucene's AUTO fuzziness): one edit for words of 4-5 letters, two for
longer ones, with a swap of two neighbouring letters ("crad") counting as one edit; ties go to the
word more documents use.

The index is saved to the snapshot folder (BM25 matrices, filter columns, lexicon) and loaded as
is on open: rebuilding BM25 for 100k chunks on every process start took tens of seconds.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Function words that carry no topic; question words too, since every query is a question.
# fmt: off
_ZH_STOPWORDS = frozenset({
    "的", "了", "吗", "呢", "吧", "啊", "我", "我的", "你", "您", "你们", "他", "她", "它",
    "是", "在", "和", "与", "及", "或", "就", "都", "也", "还", "要", "会", "能", "可以",
    "怎么", "怎样", "如何", "什么", "哪", "哪些", "多少", "有", "没有", "请问", "一下", "这个", "那个", "这",
    "那", "个", "把", "被", "给", "让", "对", "为", "以", "而", "并", "等", "之", "其",
    "怎么办", "哪里", "哪儿", "为什么", "么", "呀", "嘛", "啦", "们", "我们", "自己",
})
# fmt: on
_jieba_lock = threading.Lock()
FILTERS_FILE = "filters.npz"
LEXICON_FILE = "lexicon.json"
BM25_DIR = "bm25"


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


# Function words, pronouns and question words: every query is a question, so "how much does"
# says nothing about the topic. Negations and amounts ("not", "over", "under") are kept.
_EN_STOPWORDS = frozenset(
    """a an and are as at be been being but by for from if in into is it its of on or so such that the
    their them then there these they this those to was were will with how what when where which who whom
    whose why do does did doing done can could would should shall may might must i me my mine myself we
    us our ours you your yours he him his she her hers am have has had having get got just also very
    much many any some please hi hello thanks thank want need like im ive dont""".split()  # noqa: SIM905
)


def _en_stopwords() -> frozenset[str]:
    return _EN_STOPWORDS


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    stop_en = _en_stopwords()
    tokens: list[str] = []
    latin: list[str] = []
    for match in _TOKEN.finditer(text):
        run = match.group(0)
        if _CJK.match(run):
            for word in _jieba().lcut_for_search(run):
                if word not in _ZH_STOPWORDS:
                    tokens.append(word)
        elif run not in stop_en:
            latin.append(run)
            tokens.append(run)
    if latin:
        stems = iter(_stemmer().stemWords(latin))
        tokens = [next(stems) if not _CJK.match(t) else t for t in tokens]
    return tokens


@dataclass
class LexicalIndex:
    """BM25 over chunk tokens plus the per-chunk fields that filters need before ranking."""

    chunk_ids: list[str]
    audience: npt.NDArray[np.bool_]  # True = internal
    language: npt.NDArray[np.str_]
    effective_from: npt.NDArray[np.int64]  # YYYYMMDD
    effective_until: npt.NDArray[np.int64]  # YYYYMMDD, exclusive; 99991231 = open
    # The document id, or the id of the original for a translation: one "work" per translated set.
    work: npt.NDArray[np.str_] = field(default_factory=lambda: np.array([], dtype=str))
    model: Any = None
    _fuzzy_vocab: list[str] = field(default_factory=list)
    _vocab: dict[str, int] = field(default_factory=dict)
    _frequency: dict[str, int] = field(default_factory=dict)
    lexicon: dict[str, list[str]] = field(default_factory=dict)  # Chinese word -> English words

    @classmethod
    def build(cls, records: list[dict[str, Any]]) -> LexicalIndex:
        """Index records with the fields chunk_id, audience, language, effective_from/until, tokens."""
        import bm25s

        model = bm25s.BM25()
        if records:
            # An empty token list would break bm25s; a placeholder token matches no query.
            model.index([r["tokens"] or ["\x00"] for r in records], show_progress=False)
        index = cls(
            chunk_ids=[r["chunk_id"] for r in records],
            audience=np.array([r["audience"] == "internal" for r in records], dtype=bool),
            language=np.array([r["language"] for r in records], dtype=str),
            effective_from=np.array([r["effective_from"] for r in records], dtype=np.int64),
            effective_until=np.array([r["effective_until"] for r in records], dtype=np.int64),
            work=np.array([r.get("translation_of") or r.get("doc_id", "") for r in records], dtype=str),
            model=model if records else None,
        )
        if records:
            from knowledge.crosslingual import build_lexicon

            index.lexicon = build_lexicon([r for r in records if r["audience"] == "public"])
            index._index_vocabulary()
        return index

    def _index_vocabulary(self) -> None:
        self._vocab = dict(self.model.vocab_dict)
        # Document frequency per term, from the CSC column pointers: breaks ties between corrections.
        frequency = np.diff(np.asarray(self.model.scores["indptr"]))
        self._fuzzy_vocab = [w for w in self._vocab if len(w) >= 4 and w.isalpha() and w.isascii()]
        self._frequency = {w: int(frequency[self._vocab[w]]) for w in self._fuzzy_vocab}

    def save(self, folder: Path) -> None:
        np.savez(
            folder / FILTERS_FILE,
            chunk_ids=np.array(self.chunk_ids, dtype=str),
            audience=self.audience,
            language=self.language,
            effective_from=self.effective_from,
            effective_until=self.effective_until,
            work=self.work,
        )
        (folder / LEXICON_FILE).write_text(json.dumps(self.lexicon, ensure_ascii=False), encoding="utf-8")
        if self.model is not None:
            self.model.save(str(folder / BM25_DIR), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        with np.load(folder / FILTERS_FILE, allow_pickle=False) as columns:
            index = cls(
                chunk_ids=[str(c) for c in columns["chunk_ids"]],
                audience=columns["audience"].astype(bool),
                language=columns["language"].astype(str),
                effective_from=columns["effective_from"].astype(np.int64),
                effective_until=columns["effective_until"].astype(np.int64),
                work=columns["work"].astype(str),
            )
        index.lexicon = json.loads((folder / LEXICON_FILE).read_text(encoding="utf-8"))
        if index.chunk_ids:
            index.model = bm25s.BM25.load(str(folder / BM25_DIR), show_progress=False)
            index._index_vocabulary()
            if int(index.model.scores["num_docs"]) != len(index.chunk_ids):
                raise ValueError(f"{folder}: BM25 and filter columns disagree on the number of chunks")
        return index

    @property
    def vocabulary(self) -> dict[str, int]:
        return self._vocab

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def correct(self, tokens: list[str], is_word: Callable[[str], bool] | None = None) -> list[str]:
        """Replace out-of-vocabulary Latin words by their nearest vocabulary word, if close.

        A token `is_word` accepts (a real English word the documents happen not to use) is left
        alone: "internet" is not a misspelling of "international", nor "thats" of "chat".
        """
        return [t if is_word is not None and is_word(t) else self._nearest(t) for t in tokens]

    def _nearest(self, token: str) -> str:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        if token in self._vocab or len(token) < 4 or not token.isascii() or not token.isalpha():
            return token
        max_edits = 1 if len(token) <= 5 else 2
        matches = process.extract(
            token, self._fuzzy_vocab, scorer=OSA.distance, score_cutoff=max_edits, limit=None
        )
        if not matches:
            return token
        # Fewest edits first; among equals the word more chunks use is the likelier intent.
        best = min(matches, key=lambda m: (m[1], -self._frequency.get(m[0], 0), m[0]))
        return str(best[0])

    def allowed(self, *, include_internal: bool, language: str | None, today: int) -> npt.NDArray[np.bool_]:
        mask = (self.effective_from <= today) & (self.effective_until > today)
        if not include_internal:
            mask &= ~self.audience
        if language is not None:
            mask &= self.language == language
        return mask

    def search(self, tokens: list[str], mask: npt.NDArray[np.bool_], k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) among rows the mask allows; rows with no matching term are left out."""
        known = [t for t in tokens if t in self._vocab]
        if self.model is None or not known or k <= 0:
            return []
        scores = np.asarray(self.model.get_scores(known), dtype=np.float32)
        scores = np.where(mask, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores)))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]
