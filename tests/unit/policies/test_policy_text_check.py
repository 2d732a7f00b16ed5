from __future__ import annotations

import pytest

from policies.verdict import Decision
from tools.policy_engine import PolicyEngine
from tools.text_check import check_outgoing_text, normalise

# rule id -> ((firing text, product types), (non-firing text, product types))
TEXT_CASES: dict[str, tuple[tuple[str, list[str]], tuple[str, list[str]]]] = {
    "TXT-CLM-01": (("We guarantee you a 7% return every year.", []), ("Returns are not guaranteed.", [])),
    "TXT-CLM-02": (("Honestly, this fund cannot lose.", []), ("This fund is not risk-free.", [])),
    "TXT-CLM-03": (("这款理财稳赚不赔。", []), ("本产品不保本，投资有风险。", [])),
    "TXT-CLM-04": (
        ("Yes, you can buy the emerging markets fund as a C2 investor.", []),
        ("A C2 investor may buy products rated R1 or R2.", []),
    ),
    "TXT-CLM-05": (
        ("Please send me your PIN so I can check the card.", []),
        ("Never share your PIN with anyone, including bank staff.", []),
    ),
    "TXT-CLM-06": (
        ("Insiders told us this coin is going to the moon.", []),
        ("Some people say a coin is going to the moon; prices can crash just as fast.", []),
    ),
    "TXT-CLM-07": (
        ("Split it into two transfers of EUR 9,000 so it won't be reported.", []),
        ("Please do not split a payment into smaller amounts to stay under a threshold.", []),
    ),
    "TXT-CLM-08": (
        ("Transfers above EUR 9,000 are flagged.", []),
        ("Transfers of EUR 10,000 or more are held for review.", []),
    ),
    "TXT-DSC-FUND": (
        ("The Balanced Income Fund yielded 4% last year.", ["fund"]),
        ("Past performance is not a reliable indicator of future results; you may lose money.", ["fund"]),
    ),
    "TXT-DSC-NOTE": (
        ("The Autocall 2029 pays a 7% coupon if the barrier holds.", ["structured_note"]),
        ("The Autocall 2029 is a complex product and your capital is at risk.", ["structured_note"]),
    ),
    "TXT-DSC-DEP": (
        ("The fixed deposit pays 2.8% a year.", ["deposit"]),
        (
            "The fixed deposit pays 2.8%; deposits are covered by the deposit guarantee up to EUR 100,000.",
            ["deposit"],
        ),
    ),
    "TXT-DSC-LOAN": (
        ("Loans from 5.9% APR.", ["loan"]),
        ("Loans from 5.9% APR, representative APR 7.4%, subject to a credit assessment.", ["loan"]),
    ),
    "TXT-DSC-INV": (
        ("Products rated R4 suit investors in class C4 or C5.", ["investment"]),
        (
            "Products rated R4 suit class C4 or C5; the value can fall and you may get back less.",
            ["investment"],
        ),
    ),
    "TXT-DSC-PORT": (
        ("Your portfolio: 40% bonds, 60% equities.", ["portfolio"]),
        (
            "Expected return 4% a year, an estimate; past performance is not a reliable indicator "
            "of future results.",
            ["portfolio"],
        ),
    ),
    "TXT-PII-IBAN": (
        ("Sent to DE89 3704 0044 0532 0130 00 today.", []),
        ("Sent to the account ending 3000.", []),
    ),
    "TXT-PII-CARD": (("Card 4539 1488 0343 6467 is blocked.", []), ("Card ending 6467 is blocked.", [])),
    "TXT-PII-CNID": (("身份证号110105194912310029已登记。", []), ("身份证已登记。", [])),
    "TXT-PII-MAIL": (
        ("We wrote to anna.berger@example.com.", []),
        ("Write to service@lakeshore-bank.example any time.", []),
    ),
    "TXT-PII-SECRET": (("Your new PIN is 4471.", []), ("We never ask for your PIN.", [])),
    "TXT-PII-PASS": (("Passport number C01X00T47 is on file.", []), ("Please bring your passport.", [])),
    "TXT-PII-NID": (("Your SSN on file is 536-22-8174.", []), ("We never ask for your SSN in chat.", [])),
    "TXT-PII-CVV": (
        ("The CVV on your card is 319.", []),
        ("The CVV is the three-digit code on the back of your card.", []),
    ),
    "TXT-PII-3RD": (
        ("The payee's balance is EUR 18,250.", []),
        ("Your balance is EUR 18,250.", []),
    ),
}


@pytest.mark.parametrize("rule_id", sorted(TEXT_CASES))
def test_text_rule_fires(engine: PolicyEngine, rule_id: str) -> None:
    text, products = TEXT_CASES[rule_id][0]
    result = check_outgoing_text(text, product_types=products, engine=engine)
    assert rule_id in {f.rule_id for f in result.findings}
    assert result.verdict.decision == Decision.BLOCK


@pytest.mark.parametrize("rule_id", sorted(TEXT_CASES))
def test_text_rule_does_not_fire(engine: PolicyEngine, rule_id: str) -> None:
    text, products = TEXT_CASES[rule_id][1]
    result = check_outgoing_text(text, product_types=products, engine=engine)
    assert rule_id not in {f.rule_id for f in result.findings}


@pytest.mark.parametrize(
    "text",
    [
        "There's no way you lose money here.",
        "Your capital is fully guaranteed.",
        "It's completely safe, a sure thing.",
        "You'll double your money.",
        "收益有保障，不用担心亏损。",
        "保证年化8%。",
        "零 风 险",  # spaced-out Chinese
        "ＲＩＳＫ－ＦＲＥＥ returns",  # full-width
        "There's zero chance you lose money with the Autocall note.",
        "Honestly it's as good as a savings account but pays triple.",
        "The structured note pays back your full investment no matter what happens.",
        "It's a safe haven, your money won't shrink.",
        "Expect a steady 7% a year, every year, without fail.",
        "这只基金只赚不亏，放心买。",
        "Your principal is never at risk.",
        "请把您的银行卡密码发给我。",
        "The best crypto to buy is Bitcoin.",
        "You should invest in the Global Equity Index Fund.",
    ],
)
def test_paraphrased_claims_are_blocked(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).verdict.decision == Decision.BLOCK


@pytest.mark.parametrize(
    "text",
    [
        "No investment is risk-free.",
        "We cannot promise any return.",
        "You cannot lose more than you invest.",
        "Deposits are protected by the deposit guarantee up to EUR 100,000.",
        "收益不作保证。",
        "不承诺保本保收益。",
    ],
)
def test_honest_risk_statements_pass(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).verdict.decision == Decision.ALLOW


@pytest.mark.parametrize(
    "text",
    [
        "Adverts that promise guaranteed returns are scams.",
        "Anyone who promises you guaranteed returns is lying to you.",
        "Be wary of anyone offering risk-free investments.",
        "Scammers claim their coins can't lose.",
        "If a caller, however friendly, guarantees you'll double your money, hang up.",
        "Promises of guaranteed returns, however convincing, are a hallmark of fraud.",
        "Fraudsters will ask you to send them your PIN.",
        "谁承诺保本就是骗子。",
        "警惕所谓保本高收益的理财产品。",
        "不要相信任何声称稳赚不赔的投资。",
        "有人说这只币只涨不跌，那是骗局。",
    ],
)
def test_warnings_that_report_a_claim_pass(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).findings == []


@pytest.mark.parametrize(
    "text",
    [
        "We promise guaranteed returns.",
        "This fund guarantees 5 %.",
        "Unlike scammers who promise guaranteed returns, we guarantee 5%.",
        "Scammers promise guaranteed returns, but our fund really is risk-free.",
        "Be careful with crypto, this fund cannot lose.",
        "Don't believe anyone who says you can't lose, but with us you really can't lose.",
        "Our fund guarantees 5%, no scam.",
        "我们承诺保本保收益。",
        "骗子才说稳赚不赔，但我们的基金真的保本。",
        "这只基金稳赚不赔，不是骗局。",
    ],
)
def test_our_own_claims_in_the_same_shape_are_blocked(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).verdict.decision == Decision.BLOCK


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("This coin is going to the moon.", "TXT-CLM-06"),
        ("Bitcoin will hit 150,000 by Christmas.", "TXT-CLM-06"),
        ("It's a sure-fire investment, easy money.", "TXT-CLM-06"),
        ("这只股票稳了，放心买。", "TXT-CLM-06"),
        ("有内部消息，这只基金下周要大涨。", "TXT-CLM-06"),
        ("Break it up into smaller amounts to avoid the reporting threshold.", "TXT-CLM-07"),
        ("Use your wife's account for the other half to avoid the checks.", "TXT-CLM-07"),
        ("Deposit the cash in several smaller amounts so nobody asks questions.", "TXT-CLM-07"),
        ("分批转账以避开申报。", "TXT-CLM-07"),
        ("为了规避反洗钱审查，可以用家人的账户分别转。", "TXT-CLM-07"),
        ("Our system checks for payments to new payees.", "TXT-CLM-08"),
        ("Payments under EUR 5,000 are not checked.", "TXT-CLM-08"),
        ("Three or more transfers in a day trigger a manual review.", "TXT-CLM-08"),
        ("我们的系统会对超过5万元的转账自动预警。", "TXT-CLM-08"),
        ("The social security number 234-56-7890 is linked.", "TXT-PII-NID"),
        ("NI number: AB 12 34 56 C.", "TXT-PII-NID"),
        ("Your tax ID (Steuer-ID) is 12 345 678 901.", "TXT-PII-NID"),
        ("卡背面的安全码是 458。", "TXT-PII-CVV"),
        ("587 is your CVV.", "TXT-PII-CVV"),
        ("Anna Berger's balance is EUR 3,000.", "TXT-PII-3RD"),
        ("Mr Meier lives at Hauptstraße 5, 10115 Berlin.", "TXT-PII-3RD"),
        ("收款人的账户余额是5,300元。", "TXT-PII-3RD"),
        ("对方的地址是上海市浦东新区世纪大道100号。", "TXT-PII-3RD"),
    ],
)
def test_new_rule_families_fire(engine: PolicyEngine, text: str, rule_id: str) -> None:
    assert rule_id in {f.rule_id for f in check_outgoing_text(text, engine=engine).findings}


@pytest.mark.parametrize(
    "text",
    [
        "The risk-free rate of 2 % is used to compute the Sharpe ratio.",
        "在计算夏普比率时，无风险利率取2%。",
        "无风险收益率一般以国债收益率为参考。",
        "Trading on inside information is illegal.",
        "Splitting payments to avoid reporting is illegal.",
        "Your daily limit is EUR 5,000; you can send the rest tomorrow or raise the limit in the app.",
        "You can split the bill with friends in the app.",
        "请不要为了避开申报而拆分付款。",
        "Your transfer of EUR 12,000 is held for review because it is EUR 10,000 or more.",
        "We check the recipient's name against the IBAN before each transfer.",
        "您的12000欧元转账因达到1万欧元审核线，正在进行合规审核。",
        "Your balance is EUR 2,340.15.",
        "您的账户当前余额为3,215.40欧元。",
        "The card expires 08/27.",
        "The fee will double from EUR 2 to EUR 4 from 1 July.",
    ],
)
def test_technical_terms_warnings_and_own_data_pass(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).findings == []


@pytest.mark.parametrize("text", ["With us you earn a risk-free rate of 5%.", "我们提供5%的无风险收益率。"])
def test_a_risk_free_rate_offered_to_the_customer_is_a_claim(engine: PolicyEngine, text: str) -> None:
    assert check_outgoing_text(text, engine=engine).verdict.decision == Decision.BLOCK


def test_redaction_masks_card_and_iban(engine: PolicyEngine) -> None:
    result = check_outgoing_text("Card 4539 1488 0343 6467 and DE89370400440532013000.", engine=engine)
    assert "4539 1488" not in result.redacted_text and "DE8937" not in result.redacted_text
    assert "****6467" in result.redacted_text and "****3000" in result.redacted_text


def test_checksum_valid_id_is_found_without_context(engine: PolicyEngine) -> None:
    result = check_outgoing_text("Ref 11010519491231002X attached.", engine=engine)
    assert "TXT-PII-CNID" in {f.rule_id for f in result.findings}


def test_amounts_and_dates_are_not_pii(engine: PolicyEngine) -> None:
    result = check_outgoing_text(
        "EUR 1,250,000.00 was paid on 2025-06-01, reference 20250601.", engine=engine
    )
    assert not [f for f in result.findings if f.kind == "pii"]


def test_normalise_expands_contractions_and_folds_width() -> None:
    assert normalise("You CAN'T lose") == "you cannot lose"
    assert normalise("零 风 险") == "零风险"
