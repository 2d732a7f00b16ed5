"""Is a matched claim made by us, or reported as someone else's, as a warning?

"Adverts that promise guaranteed returns are scams" and "谁承诺保本就是骗子" quote a claim in order
to warn about it; "we promise guaranteed returns" and "this fund guarantees 5 %" make it. The text is
normalised (tools.text_check.normalise). A claim is reported when, within its sentence:

- an attribution ("scammers claim", "anyone who promises", "adverts that ...", "有人承诺", "号称") or
  a warning ("be wary of", "beware", "警惕", "不要相信") comes before it, and no first-person
  speaker (we, our, I, 我们, 本行) or product of ours ("this fund", "本产品") takes the floor again
  between that cue and the claim; or
- a verdict on it follows ("... are scams", "... is a red flag", "……就是骗子", "……不可信") and no
  first-person speaker comes before it.

A contrast ("but", "unlike", "但是", "不过") starts a new stretch: "Scammers promise guaranteed
returns, but we guarantee 5 %" still makes the second claim.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<!\d)[.!?](?!\d)|[。！？；;\n]")
_CONTRAST = re.compile(
    r"\b(?:but|however|whereas|unlike|except|yet|although|though|while)\b|但是|但|不过|可是|然而|与此不同"
)

_SUBJECT = (
    r"(?:scam(?:mer)?s?|fraudsters?|con (?:artists?|men|man)|criminals?|crooks?|thieves|adverts?|ads|"
    r"advertisements?|websites?|sites|callers?|sales ?(?:people|men|man|person)|someone|somebody|"
    r"anyone|anybody|whoever|anything|people|persons?|strangers?|influencers?|promoters?|schemes?|"
    r"offers?|messages?|e ?mails?|texts?|posts?|videos?|they|providers?|sellers?|brokers?|firms?|"
    r"companies|apps?|fraud|a (?:caller|stranger|person|message|friend|contact))"
)
_SPEECH = (
    r"(?:promis\w*|claim\w*|say|says|said|saying|tell\w*|told|guarantee\w*|offer\w*|pitch\w*|boast\w*|"
    r"advertis\w*|insist\w*|assur\w*|swear\w*|swore|talk\w*|market\w*|sell\w*|sold|pretend\w*|urg\w*|"
    r"push\w*|lur\w*|tempt\w*|entic\w*|asks?|asking|asked|wants?|call\w*|describ\w*|suggest\w*|hype\w*)"
)
_CUE_BEFORE = re.compile(
    rf"\b{_SUBJECT}\b(?:[^.!?;\n]{{0,40}}?)\b{_SPEECH}\b"
    r"|\b(?:beware|be (?:wary|careful|suspicious|cautious|sceptical|skeptical|alert)|watch out|look out|"
    r"steer clear|stay away|warn\w*|red flags?|warning signs?|suspicio\w+|so called|too good to be true|"
    r"(?:do not|never|nor) (?:believe|trust|fall for|listen to)|fall for|claims? (?:of|that)|"
    r"promises? (?:of|that)|talk of|typical|common trick|scams?|frauds?|fake)\b"
    r"|(?:谁|凡是|任何人|任何机构|任何平台|有人|有些人|某些|一些|那些|骗子|诈骗|不法分子|非法|广告|网站|陌生人|对方|网上|网络上|"
    r"朋友圈|群里|他们|别人|推销)[^，。！？；]{0,12}?(?:承诺|说|称|保证|许诺|宣传|推荐|让您|让你|叫您|要求|标榜)"
    r"|声称|宣称|号称|鼓吹|吹嘘|所谓|自称|标榜|打着|警惕|谨防|提防|小心|当心|留意|不要相信|别相信|切勿相信|勿信|不要轻信|切勿轻信|"
    r"别信|谨慎对待|远离|防范|骗局|诈骗|陷阱|骗子"
)
_CUE_AFTER = re.compile(
    r"\b(?:is|are|was|were|sounds?|looks?|seems?|would be|will be)\s+(?:\w+\s+){0,3}?"
    r"(?:scams?|frauds?|fraudulent|fake|a lie|lies|lying|false|untrue|red flags?|warning signs?|illegal|"
    r"unlawful|criminal|a trick|tricks|a con|bogus|misleading|dishonest|nonsense|"
    r"a (?:sign|hallmark|signal)|signs?|hallmarks?|not (?:genuine|legitimate|real|to be trusted|true))\b"
    r"|\b(?:too good to be true|suspicio\w+|hang up|report (?:it|them)|walk away|"
    r"(?:do not|never) (?:pay|send|invest|reply|respond|believe|trust))\b"
    r"|骗局|骗子|骗人|诈骗|陷阱|不可信|不能信|别信|不要信|是假的|违法|违规|警惕|要小心|请小心|挂断|报警|危险信号|不靠谱"
)
_SPEAKER = re.compile(
    r"\b(?:we|our|ours|us|i|my|(?:this|these) (?:\w+ ){0,2}?(?:funds?|notes?|products?|deposits?|accounts?|"
    r"bonds?|portfolios?|loans?|investments?|plans?))\b"
    r"|我们|我行|本行|本公司|本基金|本产品|我(?!们)|(?:这款|这只|该|此)(?:产品|基金|票据|理财|组合|存款|贷款)"
)
# After the claim, in its own clause: "... you cannot lose with us", "……跟着我们".
_SPEAKER_AFTER = re.compile(
    r"^[^,:;，：；]*?(?:\b(?:with|from|by|at) (?:us|our)\b|跟我们|跟着我们|在我们|在我行|在本行)"
)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    begin = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, end)
    return begin, after.start() if after else len(text)


def _last(pattern: re.Pattern[str], text: str, before: int) -> int:
    """Start of the last match that begins before ``before``, or -1."""
    return max((m.start() for m in pattern.finditer(text) if m.start() < before), default=-1)


def is_reported(text: str, start: int, end: int) -> bool:
    """True when the claim at ``text[start:end]`` is reported or warned about rather than made."""
    begin, finish = _sentence(text, start, end)
    # The stretch before the claim starts at the last contrast word; the claim itself is included
    # in the cue search so "adverts that [promise guaranteed returns]" sees its own verb.
    before = text[begin:end]
    contrasts = [m.end() for m in _CONTRAST.finditer(before) if m.end() <= start - begin]
    stretch = before[max(contrasts, default=0) :]
    claim_at = start - begin - max(contrasts, default=0)
    cue = _last(_CUE_BEFORE, stretch, claim_at + 1)
    speaker = _last(_SPEAKER, stretch, claim_at + 1)
    if cue >= 0 and cue > speaker and not _SPEAKER_AFTER.search(text[end:finish]):
        return True
    following = text[end:finish]
    if speaker >= 0 or _SPEAKER_AFTER.search(following):
        return False
    contrast = _CONTRAST.search(following)
    return bool(_CUE_AFTER.search(following[: contrast.start()] if contrast else following))
