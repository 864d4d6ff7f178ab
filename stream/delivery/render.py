"""Message texts from an AlertChange, in zh-CN and English.

The rule engine already words the alert (``message`` has both languages);
this adds what the reader needs around it: severity, state, where, and what
to do. SMS gets one short line per language, email a fuller body. A pool's
alert is worded by the engine with the pool and its queues (``Pool phones
(Regular, …)`` / ``坐席组 phones（…）``); its email subject, which has no
message, lists the queues after the pool.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from stream.delivery.change import alert_queues

SEVERITY = {
    "zh-CN": {"critical": "严重", "major": "重要", "warning": "警告", "minor": "次要", "info": "提示"},
    "en": {"critical": "CRITICAL", "major": "MAJOR", "warning": "WARNING", "minor": "MINOR", "info": "INFO"},
}
STATE = {
    "zh-CN": {"raised": "告警", "repeated": "仍在告警", "resolved": "已恢复", "acked": "已确认"},
    "en": {"raised": "raised", "repeated": "still active", "resolved": "resolved", "acked": "acknowledged"},
}


def _where(change: dict) -> str:
    return f"{change.get('site', '?')}/{change.get('queue', '?')}"


def _where_all(change: dict) -> str:
    """Where, with a pool alert's queues (``gd/phones (PS, PE)``): for a subject, which carries no message."""
    members = alert_queues(change)[1:]
    return f"{_where(change)} ({', '.join(members)})" if members else _where(change)


def without_pool_name(text: str, pool: str) -> str:
    """A pool alert's zh-CN text without its worded name (``坐席组 phones（…）：``, stream/alerts/messages.py),
    for a channel that names the pool apart and has little room.

    >>> without_pool_name("仍未恢复：坐席组 phones（普通、交易）：缺 3 名坐席", "phones")
    '仍未恢复：缺 3 名坐席'
    """
    i = text.find(f"坐席组 {pool}（")
    j = text.find("）：", i)
    return text[:i] + text[j + 2:] if i >= 0 and j >= 0 else text


def line(change: dict, kind: str, lang: str) -> str:
    """One line: ``[floorwatch] 严重 告警 gd-hotline/vip: VIP队列：…``."""
    sev = SEVERITY[lang].get(change.get("severity", ""), change.get("severity", ""))
    state = STATE[lang].get(kind, kind)
    text = (change.get("message") or {}).get(lang) or change.get("rule", "")
    return f"[floorwatch] {sev} {state} {_where(change)}: {text}"


def held_back_line(n: int, lang: str) -> str:
    """The digest of what the rate limit held back (empty when nothing was)."""
    if n <= 0:
        return ""
    return f"另有 {n} 条告警因限流未发送，请查看大屏。" if lang == "zh-CN" else f"{n} more alert(s) held back by the rate limit: see the wall."


def sms_text(change: dict, kind: str, lang: str = "both", held_back: int = 0) -> str:
    """The SMS body in the recipient's language(s), with the rate-limit digest if any."""
    langs = ["zh-CN", "en"] if lang == "both" else [lang]
    lines = [line(change, kind, lg) for lg in langs]
    lines += [held_back_line(held_back, lg) for lg in langs if held_back > 0]
    return "\n".join(lines)


def subject(change: dict, kind: str) -> str:
    """Email subject, both languages (a mail client shows no language choice)."""
    zh = f"{SEVERITY['zh-CN'].get(change.get('severity'), '')}{STATE['zh-CN'].get(kind, kind)}"
    en = f"{SEVERITY['en'].get(change.get('severity'), '')} {STATE['en'].get(kind, kind)}"
    return f"[floorwatch] {zh} / {en}: {_where_all(change)} {change.get('rule', '')}"


def _fig(x: object) -> str:
    """A figure for the facts line: four significant digits (a model's 7.861234 is 7.861)."""
    return f"{x:.4g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _fmt_ms(ms: object, tz: str) -> str:
    if not isinstance(ms, (int, float)):
        return "-"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def email_body(change: dict, kind: str, tz: str = "UTC", level: int = 0, held_back: int = 0) -> str:
    """Plain-text body: the zh-CN part, then the English part, then the facts."""
    msg = change.get("message") or {}
    value, thr = change.get("value"), change.get("threshold")
    esc_zh = f"（第 {level + 1} 级通知：此前的接收人未确认）" if level else ""
    esc_en = f" (escalation level {level + 1}: not acknowledged in time)" if level else ""
    digest = f"{held_back_line(held_back, 'zh-CN')}\n{held_back_line(held_back, 'en')}\n\n" if held_back else ""
    if change.get("expected") is not None:
        # An anomaly's threshold is a score, not a level of the figure: say what was seen against what is usual.
        value, exp, score = _fig(value), _fig(change.get("expected")), _fig(change.get("score"))
        facts_zh = f"检测器 {change.get('rule')}，观测 {value}，通常 {exp}，异常分 {score}（告警线 {thr}）"
        facts_en = f"Detector {change.get('rule')}, observed {value}, usual {exp}, score {score} (raises at {thr})"
    else:
        facts_zh = f"规则 {change.get('rule')}，当前值 {value}，阈值 {thr}"
        facts_en = f"Rule {change.get('rule')}, value {value}, threshold {thr}"
    # An anomaly began where its detector dates the change, before the alert's own condition.
    began = change.get("onset_ms") if change.get("onset_ms") is not None else change.get("since_ms")
    return digest + (
        f"{line(change, kind, 'zh-CN')}{esc_zh}\n"
        f"{msg.get('zh-CN', '')}\n"
        f"{facts_zh}。请在大屏上确认此告警。\n"
        "\n"
        f"{line(change, kind, 'en')}{esc_en}\n"
        f"{msg.get('en', '')}\n"
        f"{facts_en}. Acknowledge it on the wall.\n"
        "\n"
        f"alert: {change.get('id')}\n"
        f"since: {_fmt_ms(began, tz)}\n"
        f"at: {_fmt_ms(change.get('at_ms'), tz)}\n"
    )
