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
    "blocked": {
        "en": "I can't do this: {reasons}. If you think this is wrong, a colleague can review it with you.",
        "zh": "无法办理：{reasons}。如有疑问，可由人工客服为您复核。",
    },
    "pending": {
        "en": "Thank you. {summary} is waiting for review by our compliance team. "
        "You'll see the outcome here, even if you close this page.",
        "zh": "谢谢。{summary}正在等待合规团队审核，结果会显示在此对话中，即使您关闭页面。",
    },
    "executed": {"en": "Done: {summary}.", "zh": "已完成：{summary}。"},
    "rejected": {
        "en": "Our compliance team did not approve this request: {summary}. "
        "Reason: {reason}. Nothing was changed.",
        "zh": "合规团队未批准该请求：{summary}。原因：{reason}。账户未做任何变动。",
    },
    "cancelled": {"en": "Cancelled. Nothing was changed.", "zh": "已取消，账户未做任何变动。"},
    "failed": {
        "en": "This could not be completed: {reason}. Nothing was changed.",
        "zh": "无法完成：{reason}。账户未做任何变动。",
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
