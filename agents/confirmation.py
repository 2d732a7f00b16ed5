"""Reading a customer's reply to "Please confirm: ...". Deterministic: a yes releases money, so no model
decides it. Anything that is neither a plain yes nor a plain no is a new message, not an answer."""

from __future__ import annotations

import re

# One or more yes cues, with courtesies around them ("yes, go ahead", "ok do it", "please do, thanks"):
# nothing else may follow, so "yes but make it 300" is a new message, and a courtesy alone is no yes.
_YES_CUE = (
    r"(?:yes|y|yep|yeah|yup|confirm(?:ed)?|i confirm|ok|okay|sure|go ahead|go for it|do it|please do|"
    r"correct|that'?s (?:right|correct)|proceed|send it)"
)
_COURTESY = r"(?:please|pls|thanks|thank you)"
_YES = re.compile(
    rf"^\s*(?:{_COURTESY}[\s,.!]+)*{_YES_CUE}(?:[\s,.!]+(?:{_YES_CUE}|{_COURTESY}))*[\s,.!]*$|"
    r"^\s*(?:是|是的|对|确认|好|好的|可以|没问题|继续)(?:[，,。！!\s]*(?:是的|确认|好的|可以|谢谢|继续))*[。！!\s]*$",
    re.IGNORECASE,
)
# A cancellation cue, optionally after a hesitation ("actually no, cancel that"), followed by nothing
# but words that point back at the pending request. "cancel my card" names a new object: not a no.
_FILLER = r"(?:actually|oh|wait|sorry|hmm+|um+|uh|no wait|on second thought|hold on|please|pls)"
_CUE = (
    r"(?:no|nope|nah|n|cancel(?:\s+it)?|stop|don'?t|do not|never ?mind|forget (?:it|that|about it)|"
    r"scratch that|abort|i changed my mind|changed my mind|not now|leave it)"
)
_BACK_REFERENCE = (
    r"(?:that|it|this|the (?:request|transfer|payment|block|order|action|last one)|please|thanks|"
    r"thank you|for now|after all|again|i don'?t want (?:it|that|to)|i don'?t need (?:it|that)|"
    r"do (?:it|that)|"
    r"don'?t do (?:it|that)|do not do (?:it|that))"
)
_NO = re.compile(
    rf"^\s*(?:{_FILLER}[\s,.!]+)*{_CUE}(?:[\s,.!]+(?:{_CUE}|{_BACK_REFERENCE}))*[\s,.!]*$", re.IGNORECASE
)
_CUE_ZH = r"(?:不|不要|不用|取消|算了|先不要|先不用|别|别办了|不办了|不需要|不转了|不冻结了)"
_GAP_ZH = r"(?:[了吧啊呢。！!，,\s]|谢谢)*"
_NO_ZH = re.compile(
    rf"^\s*(?:(?:哦|啊|等等|等一下|其实|抱歉|不好意思){_GAP_ZH})?{_CUE_ZH}(?:{_GAP_ZH}{_CUE_ZH})*{_GAP_ZH}$"
)


def confirmation_answer(text: str) -> bool | None:
    """True for a plain yes, False for a plain no (or "actually no, cancel that"), None otherwise."""
    if _YES.match(text):
        return True
    if _NO.match(text) or _NO_ZH.match(text):
        return False
    return None
