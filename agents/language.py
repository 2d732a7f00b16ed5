"""The fixed customer-facing sentences, in English and Chinese."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "no_answer": {
        "en": "I'm sorry, I couldn't find this in Lakeshore Bank's documents, so I won't guess. "
        "Would you like me to connect you with a colleague?",
        "zh": "抱歉，我在湖岸银行的文件中没有找到相关信息，因此不作猜测。需要为您转接人工客服吗？",
    },
    "kb_down": {
        "en": "I can't look this up in our documentation right now. "
        "Would you like me to connect you with a colleague?",
        "zh": "暂时无法查询我们的文件。需要为您转接人工客服吗？",
    },
    "llm_down": {
        "en": "Our assistant can't write a full answer right now. "
        "Here is the relevant section of our documentation:",
        "zh": "智能助理暂时无法生成完整回答。以下是我们文件中的相关内容：",
    },
    "ungrounded": {
        "en": "Here is what our documentation says:",
        "zh": "以下是我们文件中的说明：",
    },
    "review_blocked": {
        "en": "I can't send that answer as written. A colleague can help you with this question; "
        "would you like me to connect you?",
        "zh": "该回答未通过合规审查，无法发送。需要为您转接人工客服吗？",
    },
    "handoff": {
        "en": "I'll connect you with a colleague. You can also call us 24/7 on +49 69 0000 1100.",
        "zh": "我将为您转接人工客服。您也可以拨打24小时热线 +49 69 0000 1100。",
    },
    "greeting": {
        "en": "Hello! I can answer questions about Lakeshore Bank's products, "
        "block a card, or make a transfer.",
        "zh": "您好！我可以解答湖岸银行产品的问题，帮您冻结银行卡或办理转账。",
    },
    "confirm": {"en": "Please confirm: {summary}.", "zh": "请确认：{summary}。"},
    "confirm_review": {
        "en": "Please confirm: {summary}. {note}",
        "zh": "请确认：{summary}。{note}",
    },
    "blocked": {
        "en": "I can't do this. {reason} If you think this is wrong, a colleague can review it with you.",
        "zh": "无法办理。{reason}如有疑问，可由人工客服为您复核。",
    },
    "pending": {
        "en": "Thank you. {summary} is waiting for review by our team. "
        "You'll see the outcome here, even if you close this page.",
        "zh": "谢谢。{summary}正在等待我们团队审核，结果会显示在此对话中，即使您关闭页面。",
    },
    "executed": {"en": "Done: {summary}.", "zh": "已完成：{summary}。"},
    "not_permitted": {"en": "This isn't permitted.", "zh": "该操作不被允许。"},
    "not_approved": {"en": "it was not approved", "zh": "未获批准"},
    "rejected": {
        "en": "Our team did not approve this request: {summary}. Reason: {reason}. Nothing was changed.",
        "zh": "我们的团队未批准该请求：{summary}。原因：{reason}。账户未做任何变动。",
    },
    "refused": {
        "en": "I couldn't carry this out: {summary}. {reason} Nothing was changed.",
        "zh": "无法执行：{summary}。{reason}账户未做任何变动。",
    },
    "cancelled": {"en": "Cancelled. Nothing was changed.", "zh": "已取消，账户未做任何变动。"},
    "failed": {
        "en": "This could not be completed: {reason}. Nothing was changed.",
        "zh": "无法完成：{reason}。账户未做任何变动。",
    },
    "which_card": {
        "en": 'Which card do you mean: {options}? Tell me, for example, "block my {example} card".',
        "zh": "请问是哪张卡：{options}？例如可以说“冻结我的{example_zh}”。",
    },
    "no_such_card": {
        "en": "I can't find an active {kind} card on your account, so nothing was blocked. "
        "Your active cards: {options}.",
        "zh": "您的账户中没有可用的{kind_zh}，因此未冻结任何卡。您的可用卡：{options}。",
    },
    "no_active_card": {
        "en": "You have no active card to block.",
        "zh": "您没有可冻结的有效银行卡。",
    },
    "which_currency": {
        "en": "You mentioned more than one currency. Which currency should I send?",
        "zh": "您提到了多种货币，请问要以哪种货币转账？",
    },
    "currency_unsupported": {
        "en": "I can only send {currency} from this account here. Please give the amount in {currency}.",
        "zh": "此处只能从该账户以{currency}转账，请以{currency}说明金额。",
    },
    "payee_not_saved": {
        "en": "I can't find {payee} among your saved payees. To pay someone new, "
        "please give me their name and IBAN.",
        "zh": "在您已保存的收款人中找不到 {payee}。如需向新收款人转账，请提供其姓名和 IBAN。",
    },
    "iban_needed": {
        "en": "{payee} is not one of your saved payees. To send money to a new payee I need their IBAN: "
        'please write it with the amount, for example "send EUR 250 to {payee}, IBAN DE...".',
        "zh": "{payee} 不是您已保存的收款人。向新收款人转账需要对方的 IBAN，请连同金额一起提供。",
    },
    "iban_mismatch": {
        "en": "The IBAN you gave is not the one saved for {payee}. Please check it, or tell me to use the "
        "saved one.",
        "zh": "您提供的 IBAN 与 {payee} 已保存的不一致，请核对。",
    },
    "which_iban": {
        "en": "You wrote more than one IBAN. Which account should receive the money?",
        "zh": "您提供了多个 IBAN，请问应转入哪个账户？",
    },
    "llm_down_action": {
        "en": "I can't process requests right now, so nothing was done. Please try again in a few minutes, "
        "or call us 24/7 on +49 69 0000 1100 (to block a card, for example).",
        "zh": "暂时无法处理请求，未做任何操作。请稍后再试，"
        "或拨打24小时热线 +49 69 0000 1100（例如挂失银行卡）。",
    },
    "slots_unclear": {
        "en": "I couldn't read the details of that request reliably. Could you restate it, e.g. "
        '"transfer EUR 250 to Anna Weber"?',
        "zh": "我没能准确识别该请求的细节，请重新描述，例如“向 Anna Weber 转账 250 欧元”。",
    },
}


def say(key: str, language: str, **values: str) -> str:
    template = TEXT[key].get(language) or TEXT[key]["en"]
    return template.format(**values)
