"""The Chinese-English word map learnt from translated document pairs."""

from __future__ import annotations

from knowledge.crosslingual import build_lexicon, expand


def _record(doc_id: str, section: str, position: int, tokens: list[str], **extra: str) -> dict:
    language = extra.get("language", "en")
    return {
        "doc_id": doc_id,
        "doc_key": f"{doc_id}@v1",
        "section": section,
        "position": position,
        "tokens": tokens,
        "language": language,
        "translation_of": extra.get("translation_of", ""),
    }


def _pair(name: str, sections: list[tuple[list[str], list[str]]]) -> list[dict]:
    rows = []
    for n, (en, zh) in enumerate(sections):
        rows.append(_record(name, f"s{n}", n, en))
        rows.append(_record(f"{name}.zh", f"z{n}", n, zh, language="zh", translation_of=name))
    return rows


def test_words_that_share_aligned_sections_are_mapped() -> None:
    records = _pair("fees", [(["fee", "wire"], ["费用", "电汇"]), (["card", "block"], ["卡", "冻结"])])
    records += _pair("cards", [(["card", "lost"], ["卡", "丢失"]), (["fee", "replac"], ["费用", "补办"])])
    lexicon = build_lexicon(records)
    assert lexicon["费用"] == ["fee"]
    assert lexicon["卡"] == ["card"]
    assert "电汇" not in lexicon  # seen in one section only: could be chance


def test_without_translations_there_is_no_lexicon() -> None:
    assert build_lexicon([_record("a", "s", 0, ["fee"])]) == {}


def test_expansion_adds_english_words_once() -> None:
    assert expand(["费用", "卡", "fee"], {"费用": ["fee"], "卡": ["card"]}) == ["费用", "卡", "fee", "card"]
