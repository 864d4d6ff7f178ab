"""Alert messages in zh-CN and English, from a change record's figures.

Pure formatting: durations as ``m:ss`` (``h:mm:ss`` from an hour), rates in
percent, and "for 3 min" / "已 3 分钟" for how long the condition has held.

>>> m = message("longest_wait", "raised", {"en": "VIP queue", "zh": "VIP队列"}, 760, 600, 180_000, target=20)
>>> m["en"]
'VIP queue: longest wait 12:40 (alerts above 10:00; target 0:20) for 3 min'
>>> message("longest_wait", "resolved", {"en": "VIP queue"}, 50, 600, 900_000)["en"]
'Resolved: VIP queue: longest wait back under the clear level (lasted 15 min)'
>>> m["zh-CN"]
'VIP队列：最长等待 12:40（告警线：超过 10:00；目标 0:20）已 3 分钟'
>>> message("service_level", "raised", {"en": "General", "zh": "综合咨询"}, 62, 65, 600_000, target=90)["en"]
'General: service level (15 min) 62.0% (alerts below 65.0%; target 90.0%) for 10 min'
>>> m = message("arrival_surge", "raised", {"en": "Regular", "zh": "普通"}, 26, 0.87, 0, expected=11.3, score=0.91, slot="Tue 10:00")
>>> m["en"]
'Regular: arrivals 2.3× the usual for Tue 10:00 - 26 in 5 min vs 11.3 expected (score 0.910)'
>>> m["zh-CN"]
'普通：来话为周二 10:00 通常水平的 2.3 倍 - 5分钟 26 个，预期 11.3 个（异常分 0.910）'
>>> m = message("abandon_spike", "raised", {"en": "Regular", "zh": "普通"}, 40, 0.875, 0, expected=190, score=0.91, slot="14:00")
>>> m["en"]
'Regular: callers give up after 0:40 of waiting, usually 3:10 for 14:00 (4.8× sooner) (score 0.910)'
>>> m["zh-CN"]
'普通：客户等待 0:40 即挂断，14:00 通常为 3:10（快 4.8 倍）（异常分 0.910）'

An anomaly says since when its evidence has been gathering (the detector's
change point, local time at the site), and then not how long the alert has held:

>>> m = message("aht_drift", "repeated", {"en": "Regular", "zh": "普通"}, 300, 0.87, 900_000, expected=158, score=0.93, slot="14:00", since="13:40")
>>> m["en"]
'Still: Regular: handle time drift - AHT 5:00 vs 2:38 usual for 14:00 (1.9×) since 13:40 (score 0.930)'
>>> m["zh-CN"]
'仍未恢复：普通：自 13:40 起处理时长漂移 - 平均处理时长 5:00，14:00 通常 2:38（1.9 倍）（异常分 0.930）'
>>> m = message("understaffed", "raised", {"en": "General", "zh": "综合咨询"}, 4, 0, 600_000, target=32)
>>> m["en"], m["zh-CN"]
('General: 4 agents short (need 32, have 28) for 10 min', '综合咨询：缺 4 名坐席（需 32，在岗 28） 已 10 分钟')

A pool's alert (``understaffed`` on queues staffed together) names the pool and its queues:

>>> n = pool_name("floor", ["PS", "NW"], {"PS": {"name": {"en": "Regular", "zh": "普通"}}})
>>> message("understaffed", "raised", n, 3, 0, 0, target=20)["en"]
'Pool floor (Regular, NW): 3 agents short (need 20, have 17)'
>>> message("understaffed", "raised", n, 3, 0, 0, target=20)["zh-CN"]
'坐席组 floor（普通、NW）：缺 3 名坐席（需 20，在岗 17）'

The raise level is the rule's (config/alerts.yaml); the target is the queue's
(config/floor.yaml: ``sl_target_pct`` for service level, the service-level
time ``sl_t_s`` for waits). A message names both so "below 65%" is never read
as the goal.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

__all__ = ["message", "clock", "duration", "local_time", "pool_name"]


def clock(seconds: Optional[float]) -> str:
    """``760`` -> ``'12:40'``; an hour or more -> ``'1:02:05'``."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def duration(ms: int, lang: str) -> str:
    """How long, in words: ``'45 s'`` / ``'3 min'`` / ``'1 h 05 min'`` (zh: 秒 / 分钟 / 小时)."""
    s = max(0, ms) // 1000
    if s < 60:
        return f"{s} 秒" if lang == "zh" else f"{s} s"
    m = s // 60
    if m < 60:
        return f"{m} 分钟" if lang == "zh" else f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} 小时 {m} 分钟" if lang == "zh" else f"{h} h {m:02d} min"


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.1f}%"


def _num(v: Optional[float]) -> str:
    return "-" if v is None else (f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}")


def local_time(ms: int, tz: str, ref_ms: Optional[int] = None) -> str:
    """Epoch ms as the site's local ``'HH:MM'``; ``'MM-DD HH:MM'`` when ``ref_ms`` falls on another local day.

    >>> local_time(1_700_000_000_000, "Asia/Shanghai"), local_time(1_700_000_000_000, "Asia/Shanghai", 1_700_100_000_000)
    ('06:13', '11-15 06:13')
    """
    zone = timezone.utc if tz == "UTC" else ZoneInfo(tz)
    d = datetime.fromtimestamp(ms / 1000, zone)
    if ref_ms is not None and datetime.fromtimestamp(ref_ms / 1000, zone).date() != d.date():
        return d.strftime("%m-%d %H:%M")
    return d.strftime("%H:%M")


def _ratio(value: Optional[float], expected: Optional[float]) -> Optional[str]:
    """``'2.3'`` for value / expected (None when there is no meaningful ratio)."""
    if value is None or expected is None or expected <= 0:
        return None
    return f"{value / expected:.1f}"


_DAYS_ZH = {"Mon": "周一", "Tue": "周二", "Wed": "周三", "Thu": "周四", "Fri": "周五", "Sat": "周六", "Sun": "周日"}


def _slot_zh(slot: str) -> str:
    """``'Tue 10:00'`` -> ``'周二 10:00 '``; a daily ``'10:00'`` -> ``'10:00 '`` (the zh sentence runs on)."""
    day, _, hhmm = slot.partition(" ")
    return f"{_DAYS_ZH.get(day, day)} {hhmm} " if hhmm else f"{slot} "


# rule -> (figure en, figure zh, formatter, "above"/"below")
_FIGURES: dict[str, tuple[str, str, Any, str]] = {
    "longest_wait": ("longest wait", "最长等待", clock, "above"),
    "service_level": ("service level (15 min)", "15分钟服务水平", _pct, "below"),
    "abandon_rate": ("abandon rate (15 min)", "15分钟放弃率", _pct, "above"),
    "vip_wait": ("VIP waiting", "VIP客户已等待", clock, "above"),
    "agent_not_ready": ("not ready", "未就绪", clock, "above"),
    "agent_wrap_up": ("in wrap-up", "话后处理", clock, "above"),
}


_RESOLVED = {
    "longest_wait": ("longest wait back under the clear level", "最长等待已回落"),
    "service_level": ("service level back above the clear level", "服务水平已回升"),
    "abandon_rate": ("abandon rate back under the clear level", "放弃率已回落"),
    "abandon_spike": ("callers wait as long as usual before giving up again", "客户耐心已恢复常态"),
    "no_agent_ready": ("agents available again", "已有可用坐席/窗口"),
    "vip_wait": ("VIP wait back under the clear level", "VIP等待已回落"),
    "agent_not_ready": ("agent left not-ready", "坐席已结束未就绪"),
    "agent_wrap_up": ("agent left wrap-up", "坐席已结束话后处理"),
    "understaffed": ("staffed to the need again", "人手已满足需求"),
}


def message(
    rule: str,
    change: str,
    queue: dict,
    value: Optional[float],
    threshold: Optional[float],
    held_ms: int,
    *,
    hall: bool = False,
    agent: Optional[str] = None,
    reason: Optional[str] = None,
    expected: Optional[float] = None,
    score: Optional[float] = None,
    slot: Optional[str] = None,
    target: Optional[float] = None,
    since: Optional[str] = None,
) -> dict:
    """``{"zh-CN": ..., "en": ...}`` for a raised / repeated / resolved / acknowledged change.

    Anomalies say how far from the usual (``value / expected``), for which
    calendar ``slot`` the usual is (``'Tue 10:00'``, from the detector) and
    ``since`` when (local ``'HH:MM'``, the detector's change point), or else,
    once it has lasted, for how long.
    """
    qen, qzh = queue.get("en") or "?", queue.get("zh") or queue.get("en") or "?"
    den, dzh = duration(held_ms, "en"), duration(held_ms, "zh")
    # "for 0 s" says nothing: a rule with no minimum duration raises at once.
    for_en, for_zh = (f" for {den}", f"已 {dzh}") if held_ms >= 1000 else ("", "")
    lead_zh = f"{qzh}："  # an anomaly's zh sentence after the queue's name
    if since and rule in ("arrival_surge", "aht_drift", "abandon_spike"):
        # The change began then: "for 10 min" from the page would be a second, later time.
        for_en, for_zh, lead_zh = f" since {since}", "", f"{qzh}：自 {since} 起"
    if rule == "no_agent_ready":
        who_en, who_zh = ("no counter open", "无开放窗口") if hall else ("no agent ready", "无空闲坐席")
        en = f"{qen}: {_num(value)} waiting, {who_en}{for_en}"
        zh = f"{qzh}：{_num(value)} 人等待，{who_zh}{' ' + for_zh if for_zh else ''}"
    elif rule == "understaffed":
        # value: agents short now; target: agents needed now (the staffing advice).
        short = _num(value)
        have = _num(None if value is None or target is None else target - value)
        who_en, who_zh = ("counters", "个窗口") if hall else ("agents", "名坐席")
        en = f"{qen}: {short} {who_en} short (need {_num(target)}, have {have}){for_en}"
        zh = f"{qzh}：缺 {short} {who_zh}（需 {_num(target)}，在岗 {have}）{' ' + for_zh if for_zh else ''}"
    elif rule in ("agent_not_ready", "agent_wrap_up"):
        fen, fzh, fmt, _ = _FIGURES[rule]
        why_en = f" ({reason})" if reason else ""
        why_zh = f"（{reason}）" if reason else ""
        en = f"Agent {agent} ({qen}): {fen}{why_en} for {fmt(value)} (alerts above {fmt(threshold)})"
        zh = f"坐席 {agent}（{qzh}）：{fzh}{why_zh}已 {fmt(value)}（告警线：超过 {fmt(threshold)}）"
    elif rule == "arrival_surge":
        r = _ratio(value, expected)
        usual_en = f" for {slot}" if slot else ""
        usual_zh = _slot_zh(slot) if slot else ""
        head_en = (f"arrivals {r}× the usual{usual_en}" if r else "arrivals surge") + (for_en if since else "")
        head_zh = f"来话为{usual_zh}通常水平的 {r} 倍" if r else "来话激增"
        en = f"{qen}: {head_en} - {_num(value)} in 5 min vs {_num(expected)} expected{'' if since else for_en} (score {score:.3f})"
        zh = f"{lead_zh}{head_zh} - 5分钟 {_num(value)} 个，预期 {_num(expected)} 个{for_zh}（异常分 {score:.3f}）"
    elif rule == "aht_drift":
        r = _ratio(value, expected)
        usual_en = f" for {slot}" if slot else ""
        usual_zh = _slot_zh(slot) if slot else ""
        en = f"{qen}: handle time drift - AHT {clock(value)} vs {clock(expected)} usual{usual_en}" + (f" ({r}×)" if r else "") + f"{for_en} (score {score:.3f})"
        zh = f"{lead_zh}处理时长漂移 - 平均处理时长 {clock(value)}，{usual_zh}通常 {clock(expected)}" + (f"（{r} 倍）" if r else "") + f"{for_zh}（异常分 {score:.3f}）"
    elif rule == "abandon_spike":
        # value: the mean patience now (seconds waited per abandon, None when nobody hung up);
        # expected: the usual for the slot. Sooner is worse, so the ratio is usual / now.
        r = _ratio(expected, value)
        usual_en = f" for {slot}" if slot else ""
        usual_zh = f"{slot} " if slot else ""
        if value is None:
            en = (f"{qen}: callers giving up sooner than usual for their wait{for_en if since else ''} (usually after {clock(expected)}{usual_en});"
                  f" none in the last 15 min{'' if since else for_en} (score {score:.3f})")
            zh = f"{lead_zh}客户挂断早于其等待时长的常态（{usual_zh}通常等待 {clock(expected)} 才挂断），近15分钟无挂断{for_zh}（异常分 {score:.3f}）"
        else:
            en = f"{qen}: callers give up after {clock(value)} of waiting, usually {clock(expected)}{usual_en}" + (f" ({r}× sooner)" if r else "") + f"{for_en} (score {score:.3f})"
            zh = f"{lead_zh}客户等待 {clock(value)} 即挂断，{usual_zh}通常为 {clock(expected)}" + (f"（快 {r} 倍）" if r else "") + f"{for_zh}（异常分 {score:.3f}）"
    else:
        fen, fzh, fmt, side = _FIGURES[rule]
        zside = "低于" if side == "below" else "超过"
        # The raise level is when the alert fires; the target is what the queue aims for.
        t_en = f"; target {fmt(target)}" if target is not None else ""
        t_zh = f"；目标 {fmt(target)}" if target is not None else ""
        # "alerts above X" is the rule, true whatever the live value does under hysteresis.
        en = f"{qen}: {fen} {fmt(value)} (alerts {side} {fmt(threshold)}{t_en}){for_en}"
        zh = f"{qzh}：{fzh} {fmt(value)}（告警线：{zside} {fmt(threshold)}{t_zh}）{for_zh}"
    if change == "repeated":
        en, zh = f"Still: {en}", f"仍未恢复：{zh}"
    elif change == "resolved":
        # The raise text with "now" figures would read oddly; say who and how long.
        fen, fzh = _RESOLVED.get(rule, ("back to normal", "已恢复正常"))
        en = f"Resolved: {en.split(': ', 1)[0]}: {fen} (lasted {den})"
        zh = f"已恢复：{zh.split('：', 1)[0]}：{fzh}（持续 {dzh}）"
    elif change == "acknowledged":
        en, zh = f"Acknowledged: {en}", f"已确认：{zh}"
    return {"zh-CN": zh, "en": en}


def pool_name(pool: str, queues: list, names: dict) -> dict:
    """A pool's name for a message, with its queues' (``names``: a snapshot's queues, each its ``name``)."""
    def of(q: str, lang: str) -> str:
        n = (names.get(q) or {}).get("name") or {}
        return n.get(lang) or n.get("en") or q

    return {"en": f"Pool {pool} ({', '.join(of(q, 'en') for q in queues)})",
            "zh": f"坐席组 {pool}（{'、'.join(of(q, 'zh') for q in queues)}）"}
