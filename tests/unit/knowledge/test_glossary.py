"""Chinese questions glossed in English through CC-CEDICT."""

from __future__ import annotations

from knowledge.glossary import Glossary, cedict, parse_cedict
from knowledge.lexical import tokenize

SAMPLE = [
    "# CC-CEDICT comment line",
    "密碼 密码 [mi4 ma3] /secret code/ciphertext/password/PIN/",
    "新興 新兴 [Xin1 xing1] /Xinxing county in Yunfu, Guangdong/",
    "新興 新兴 [xin1 xing1] /(of markets) rising/emerging/in the ascendant/",
    "支付 支付 [zhi1 fu4] /to pay (money)/",
    "蘋果 苹果 [ping2 guo3] /apple/CL:個|个[ge4]/",
    "王 王 [Wang2] /surname Wang/",
    "銷 销 [xiao1] /to cancel/to sell/",
    "戶 户 [hu4] /a household/door/account/",
]


def test_parse_keeps_translations_and_drops_names_and_measure_words() -> None:
    senses = parse_cedict(SAMPLE)
    assert senses["密码"] == ["secret code", "ciphertext", "password", "PIN"]
    assert senses["新兴"] == ["rising", "emerging", "in the ascendant"]  # not the county
    assert senses["支付"] == ["pay"]
    assert senses["苹果"] == ["apple"]
    assert "王" not in senses


def test_senses_the_corpus_uses_are_preferred() -> None:
    corpus = set(tokenize("Reset your PIN or password in the app. Apple Pay is supported."))
    glossary = Glossary(parse_cedict(SAMPLE), corpus.__contains__, tokenize)
    gloss = glossary.gloss("密码")
    assert gloss.split() == ["password", "PIN"]  # not "secret code", the dictionary's first sense


def test_latin_words_stay_and_question_words_are_dropped() -> None:
    glossary = Glossary(parse_cedict(SAMPLE), {"pay", "appl"}.__contains__, tokenize)
    assert glossary.gloss("Lakeshore 你们支持苹果支付吗") == "Lakeshore apple pay"


def test_an_unknown_compound_is_glossed_character_by_character() -> None:
    glossary = Glossary(parse_cedict(SAMPLE), {"cancel", "account"}.__contains__, tokenize)
    assert glossary.gloss("销户") == "cancel account"


def test_the_bundled_dictionary_loads() -> None:
    senses = cedict()
    assert len(senses) > 50_000
    assert "foreigner" in senses["外国人"]
