"""The advisory agent's fixed customer sentences, in English and Chinese. Numbers in them come from
the tools (the questionnaire's score, the allocation's figures, the ledger), never from the model."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "question": {
        "en": "Question {n} of {total}: {text}\n{options}\nTap an answer or reply in your own words.",
        "zh": "第{n}题（共{total}题）：{text}\n{options}\n请点击答案，或直接用文字回答。",
    },
    "start": {
        "en": "Let's work out your investor profile. I'll ask {total} short questions, one at a time; you "
        'can say "back" or "change 3" at any point.',
        "zh": "我们来确定您的投资者风险评级。我会逐一提出{total}个简短问题；"
        '您随时可以说"返回"或"修改第3题"。',
    },
    "need_profile": {
        "en": "To recommend investments I first need a current investor profile.",
        "zh": "在推荐投资之前，我需要您当前有效的投资者风险评级。",
    },
    "unclear_answer": {
        "en": "Sorry, I couldn't match that to one of the answers.",
        "zh": "抱歉，我无法将您的回答对应到其中一个选项。",
    },
    "withdrawn": {
        "en": "Thank you for telling me. Your previous investor profile no longer applies, so let's "
        "answer the questions again.",
        "zh": "感谢告知。您之前的投资者风险评级已不再适用，我们重新回答问题。",
    },
    "profile": {
        "en": "Your investor profile is {cls} ({name}), from questionnaire {version} on {date}; it is valid "
        "until {expires}. You scored {points} of {max_points} points, which is {points_cls}.{capped}\n"
        'Your answers:\n{answers}\nSay "change 3" to change an answer, or "retake the questionnaire".',
        "zh": "您的投资者风险评级为{cls}（{name}），依据{date}填写的问卷{version}，有效期至{expires}。"
        "您的得分为{points}分（满分{max_points}分），对应{points_cls}。{capped}\n您的回答：\n{answers}\n"
        '如需修改，请说"修改第3题"；或说"重新做问卷"。',
    },
    "capped": {
        "en": " Your class is capped at {cls} because of your answer to: {questions}.",
        "zh": "由于您对以下问题的回答，您的评级上限为{cls}：{questions}。",
    },
    "no_profile": {
        "en": 'You don\'t have a current investor profile. Say "start the risk questionnaire" to create one.',
        "zh": '您目前没有有效的投资者风险评级。请说"开始风险评估问卷"来完成评估。',
    },
    "proposal": {
        "en": "For your profile {cls} I propose the {portfolio}: {weights}. In a backtest on monthly market "
        "data from {period}, this mix had a volatility of {vol} % a year, its largest fall from a peak "
        "(maximum drawdown) was {mdd} %, and its average loss in the worst {tail} % of months (CVaR) was "
        "{cvar} %. Shares make up {equity} % of it. The funds' ongoing charges come to {charges} % a year.",
        "zh": "根据您的风险评级{cls}，我建议{portfolio}：{weights}。"
        "基于{period}的月度市场数据回测，该组合的年化"
        "波动率为{vol}%，最大回撤为{mdd}%，最差{tail}%月份的平均亏损（CVaR）为{cvar}%。股票占比{equity}%。"
        "基金持续费用合计每年{charges}%。",
    },
    "how_to_invest": {
        "en": 'To invest, tell me the amount and the portfolio, as in "invest (amount) in the '
        '{portfolio}". The suitability report below explains why this fits your profile, with the '
        "costs and risks.",
        "zh": '如需投资，请告诉我金额和组合，例如"投资（金额）到{portfolio}"。'
        "下方的适当性报告说明了该组合为何适合您，以及费用和风险。",
    },
    "which_product": {
        "en": "Which fund or portfolio would you like? For your profile {cls}: {options}.",
        "zh": "您想购买哪只基金或哪个组合？适合您评级{cls}的有：{options}。",
    },
    "which_product_no_profile": {
        "en": "Which fund or portfolio would you like? Our shelf: {options}.",
        "zh": "您想购买哪只基金或哪个组合？可选产品：{options}。",
    },
    "one_product": {
        "en": "Please name one product per order: {options}.",
        "zh": "每笔订单请只指定一个产品：{options}。",
    },
    "how_much": {
        "en": 'How much would you like to invest in the {product}? Say for example "invest 5,000 in the '
        '{product}".',
        "zh": '您想在{product}投资多少？请说例如"投资5000到{product}"。',
    },
    "which_amount": {
        "en": 'I read more than one amount. Please say the amount once, for example "invest 5,000 in the '
        '{product}".',
        "zh": '我读到了多个金额，请只说一个金额，例如"投资5000到{product}"。',
    },
    "alternative": {
        "en": "A product that fits your profile {cls}: the {alternative}.",
        "zh": "适合您风险评级{cls}的产品：{alternative}。",
    },
    "insist_hint": {
        "en": 'If you still want the {product} against this warning, say "I understand the risk and still '
        'want to buy it": the order then needs your explicit confirmation and a review by our compliance '
        "team.",
        "zh": '如果您在此警示后仍想购买{product}，请说"我了解风险，仍然要买"：'
        "订单需要您明确确认，并由合规团队审核。",
    },
    "profile_first": {
        "en": 'Say "start the risk questionnaire" to create your investor profile.',
        "zh": '请说"开始风险评估问卷"来完成投资者风险评估。',
    },
    "nothing_to_insist": {
        "en": "There is no refused order in this conversation to go ahead with.",
        "zh": "本次对话中没有可继续办理的被拒订单。",
    },
    "insist_not_possible": {
        "en": "This product cannot be bought against the warning: its risk is too far above your profile. "
        "A colleague can talk it through with you.",
        "zh": "该产品的风险远高于您的风险评级，即使您坚持也无法购买。人工客服可以与您详细沟通。",
    },
    "no_holdings": {
        "en": "You don't hold any funds with us yet, so there is nothing to rebalance.",
        "zh": "您目前没有持有我行基金，因此无需再平衡。",
    },
    "within_bands": {
        "en": "Your holdings are within {band} percentage points of your {portfolio}'s target weights: "
        "{drift}. Nothing needs to change.",
        "zh": "您的持仓与{portfolio}目标权重的偏离都在{band}个百分点以内：{drift}。无需调整。",
    },
    "drifted": {
        "en": "Your holdings have drifted from your {portfolio}'s target weights by more than {band} "
        "percentage points: {drift}.",
        "zh": "您的持仓与{portfolio}目标权重的偏离超过{band}个百分点：{drift}。",
    },
    "holdings_drift_after_profile": {
        "en": 'Your holdings no longer match the portfolio for your profile; say "rebalance" to see the '
        "orders that would bring them back.",
        "zh": '您的持仓已不符合新评级对应的组合；请说"再平衡"查看调整订单。',
    },
    "allocation_unavailable": {
        "en": "I can't compute a portfolio proposal right now. A colleague can help you.",
        "zh": "暂时无法计算投资组合建议，人工客服可以为您提供帮助。",
    },
}

CLASS_NAMES: dict[str, dict[str, str]] = {
    "C1": {"en": "conservative", "zh": "保守型"},
    "C2": {"en": "cautious", "zh": "稳健型"},
    "C3": {"en": "balanced", "zh": "平衡型"},
    "C4": {"en": "growth", "zh": "成长型"},
    "C5": {"en": "aggressive", "zh": "进取型"},
}


def phrase(key: str, language: str, **values: object) -> str:
    return TEXT[key]["zh" if language == "zh" else "en"].format(**values)
