"""The texts a duty manager reads: an anomaly's email says what was seen against the usual and since when."""

from __future__ import annotations

from stream.delivery.render import email_body, sms_text

RULE = {"id": "gd-hotline/vip/longest_wait@1700000000000", "rule": "longest_wait", "site": "gd-hotline", "queue": "vip",
        "severity": "major", "value": 760.0, "threshold": 600.0, "expected": None, "score": None, "onset_ms": None,
        "since_ms": 1_699_999_820_000, "at_ms": 1_700_000_000_000,
        "message": {"zh-CN": "VIP队列：最长等待 12:40", "en": "VIP queue: longest wait 12:40"}}
SURGE = {"id": "gd-hotline/general/arrival_surge@1700000000000", "rule": "arrival_surge", "site": "gd-hotline",
         "queue": "general", "severity": "warning", "value": 30.0, "threshold": 0.87, "expected": 7.861234, "score": 0.9431,
         "onset_ms": 1_699_999_400_000, "since_ms": 1_700_000_000_000, "at_ms": 1_700_000_000_000,
         "message": {"zh-CN": "综合咨询：自 06:00 起来话为周三 06:00 通常水平的 3.8 倍", "en": "General enquiries: arrivals 3.8× the usual since 06:00"}}


def test_an_anomaly_email_says_observed_usual_score_and_since_the_onset() -> None:
    body = email_body(SURGE, "raised", tz="Asia/Shanghai")
    assert "观测 30，通常 7.861，异常分 0.9431（告警线 0.87）" in body
    assert "Detector arrival_surge, observed 30, usual 7.861, score 0.9431 (raises at 0.87)" in body
    assert "阈值" not in body and "threshold" not in body  # a score is no level of the figure
    assert "since: 2023-11-15 06:03:20 CST" in body  # the detector's onset, not the alert's raise (06:13:20)


def test_a_rule_email_keeps_value_and_threshold() -> None:
    body = email_body(RULE, "raised", tz="Asia/Shanghai")
    assert "规则 longest_wait，当前值 760.0，阈值 600.0" in body and "Rule longest_wait, value 760.0, threshold 600.0" in body
    assert "since: 2023-11-15 06:10:20 CST" in body


def test_the_sms_carries_the_explanation_in_both_languages() -> None:
    text = sms_text(SURGE, "raised")
    assert text.splitlines() == ["[floorwatch] 警告 告警 gd-hotline/general: 综合咨询：自 06:00 起来话为周三 06:00 通常水平的 3.8 倍",
                                 "[floorwatch] WARNING raised gd-hotline/general: General enquiries: arrivals 3.8× the usual since 06:00"]
