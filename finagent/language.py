"""The reply language of a customer message: the agent, the knowledge base CLI and the evals use
the same rule."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u4e00-\u9fff]")


def detect_language(text: str) -> str:
    """ "zh" when the message has at least two Chinese characters, else "en"."""
    return "zh" if len(_CJK.findall(text)) >= 2 else "en"
