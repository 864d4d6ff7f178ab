"""A pool's ``understaffed`` alert reaches whoever a route names for the pool or any of its queues.

The alert engine raises one ``understaffed`` alert per pool (queues answered by
the same agents, stream/planning/pools.py): its ``queue`` is the pool's name,
its ``queues`` the pool's queues. A route for ``queues: [PS]`` must page for
the pool that answers PS; a route for a queue of no pool, or of another pool,
must not. The alerts here are the engine's own, made by the driver and the
worker's advisor on a real fold; the end-to-end test sends them through the
worker's Redis writer and the delivery service (real Redis, loopback gateway).
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.contracts.floor_config import FloorConfig
from stream.delivery import render
from stream.delivery.change import alert_queues
from stream.delivery.channels import AliyunSmsSender, Outbound, PagerDutySender
from stream.delivery.config import DeliveryConfig, Match, PagerDutyChannel
from stream.fold.floor import Floor
from stream.runtime.advisor import Advisor
from tests.alert_helpers import FLOOR, kinds, only
from tests.delivery_fixtures import *  # noqa: F403 - fixtures
from tests.delivery_fixtures import DUTY_PHONE, FLOOR_PHONE, base_config, make_service
from tests.helpers import Seq, at

T0 = at("09:00:00")
S = 1000


def pool_alerts() -> list[dict]:
    """The engine's changes for a site whose queues PS and PE are pool ``phones`` (NW alone): one agent for
    the pool's calls until ten more log in at 09:20. A raise and a resolve, both of the pool."""
    spec = copy.deepcopy(FLOOR)
    spec["sites"]["s1"]["queues"] = {"PS": {"name": {"en": "Regular", "zh": "普通"}},
                                     "PE": {"name": {"en": "Regular (English)", "zh": "普通（英语）"}},
                                     "NW": {"name": {"en": "Potential customers", "zh": "潜在客户"}}}
    spec["sites"]["s1"]["pools"] = {"phones": ["PS", "PE"]}
    cfg = FloorConfig.from_dict(spec)
    floor, advisor = Floor(cfg), Advisor(cfg)
    drv = AlertDriver(floor, AlertEngine(only("understaffed", **{"raise": 0, "clear": 0, "for_s": 600})),
                      annotate=advisor.annotate)
    seq = Seq("s1")
    seq.state(T0 - 3_600_000, "a1", "ready", queues=["PS", "PE"])
    for i in range(60):
        t = T0 + i * 30 * S
        seq.offer(t, f"c{i}", ("PS", "PE")[i % 2])
        seq.answer(t + S, f"c{i}", "a1")
        seq.end(t + S + 120 * S, f"c{i}")
    for j in range(10):
        seq.state(T0 + 20 * 60 * S, f"b{j}", "ready", queues=["PE", "PS"])
    return drv.feed(sorted(seq.events, key=lambda e: e.ts)) + drv.tick(T0 + 40 * 60 * S)


@pytest.fixture(scope="module")
def alerts() -> list[dict]:
    out = pool_alerts()
    assert kinds(out) == [("raised", "understaffed"), ("resolved", "understaffed")]
    assert [(c["queue"], c["queues"]) for c in out] == [("phones", ["PS", "PE"])] * 2
    return out


def cfg_with(*routes: tuple[str, list[str] | None]) -> DeliveryConfig:
    """Routes (name, queues filter) in order, each to the log channel."""
    return DeliveryConfig.from_dict({
        "channels": {"log": {"type": "log"}}, "recipients": {"duty": {}},
        "routes": [{"name": n, **({"match": {"queues": qs}} if qs is not None else {}),
                    "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "log"}]}]} for n, qs in routes]})


# -- matching ------------------------------------------------------------------------


def test_a_route_naming_a_member_or_the_pool_takes_the_pools_alert(alerts) -> None:
    raised = alerts[0]
    for qs in (["PS"], ["PE"], ["phones"], ["vip", "PE"]):
        assert cfg_with(("r", qs)).route_for(raised).name == "r", qs
    for qs in (["NW"], ["vip"], ["ps"], []):  # a queue of no pool; another site's; names are exact
        assert cfg_with(("r", qs)).route_for(raised) is None, qs
    # Routes are still tried in order: the first that names one of the pool's queues owns it.
    assert cfg_with(("nw", ["NW"]), ("pe", ["PE"]), ("ps", ["PS"])).route_for(raised).name == "pe"
    # The resolve goes where the raise went.
    assert cfg_with(("ps", ["PS"])).route_for(alerts[1]).name == "ps"


def test_a_queues_alert_routes_as_before() -> None:
    m = Match(queues=["PS", "phones"])
    assert m.matches({"queue": "PS"})
    assert not m.matches({"queue": "NW"}) and not m.matches({"queue": None}) and not m.matches({})
    # A route naming the pool does not take a member queue's own alert (its waits, its service level).
    assert not Match(queues=["phones"]).matches({"queue": "PS", "rule": "longest_wait"})
    # The other filters still apply to a pool's alert.
    pool = {"queue": "phones", "queues": ["PS", "PE"], "site": "s1", "rule": "understaffed", "severity": "major"}
    assert Match(queues=["PS"], sites=["s1"], rules=["understaffed"]).matches(pool)
    assert not Match(queues=["PS"], sites=["s2"]).matches(pool)
    assert not Match(queues=["PS"], severities=["critical"]).matches(pool)
    # A malformed ``queues`` (not a list) is no member list.
    assert alert_queues({"queue": "phones", "queues": "PS"}) == ("phones",)


def _old_matches(m: Match, change: dict) -> bool:
    """The matching before pools: every filter against the alert's one field."""
    return all(getattr(m, a) is None or change.get(k) in getattr(m, a)
               for a, k in (("rules", "rule"), ("severities", "severity"), ("sites", "site"), ("queues", "queue")))


NAMES = st.sampled_from(["PS", "PE", "IN", "NE", "NW", "TT", "vip", "phones", "desk", "hall"])


@settings(max_examples=300, deadline=None)
@given(
    pools=st.lists(st.lists(NAMES, min_size=1, max_size=4, unique=True), max_size=3),
    routes=st.lists(st.one_of(st.none(), st.lists(NAMES, max_size=4)), min_size=1, max_size=4),
    queue=NAMES,
    site=st.sampled_from(["s1", "s2"]),
    route_sites=st.one_of(st.none(), st.just(["s1"])),
)
def test_property_a_route_takes_a_pool_alert_iff_it_names_the_pool_or_a_member(pools, routes, queue, site,
                                                                                route_sites) -> None:
    """Random pools (each named ``pool<i>``, queues in at most one) and routes: a pool's alert goes to the first
    route whose queues meet the pool's queues ∪ {pool} (and whose other filters take it); an alert of a
    queue alone goes exactly where it went before pools."""
    seen: set[str] = set()
    groups = []
    for i, qs in enumerate(pools):
        qs = [q for q in qs if q not in seen]
        seen.update(qs)
        if qs:
            groups.append((f"pool{i}", qs))
    cfg = DeliveryConfig.from_dict({
        "channels": {"log": {"type": "log"}}, "recipients": {"duty": {}},
        "routes": [{"name": f"r{i}", "match": {k: v for k, v in (("queues", qs), ("sites", route_sites)) if v is not None},
                    "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "log"}]}]}
                   for i, qs in enumerate(routes)]})
    for name, members in groups:
        change = {"rule": "understaffed", "severity": "major", "site": site, "queue": name, "queues": members}
        want = next((r.name for r, qs in zip(cfg.routes, routes)
                     if (qs is None or set(qs) & ({name} | set(members)))
                     and (route_sites is None or site in route_sites)), None)
        got = cfg.route_for(change)
        assert (got.name if got else None) == want
    alone = {"rule": "longest_wait", "severity": "major", "site": site, "queue": queue}
    got = cfg.route_for(alone)
    before = next((r.name for r in cfg.routes if _old_matches(r.match, alone)), None)
    assert (got.name if got else None) == before


# -- what the reader gets ---------------------------------------------------------


def _outbound(change: dict, kind: str, recipient_id: str = "duty") -> Outbound:
    cfg = DeliveryConfig.from_dict(base_config("http://127.0.0.1:1"), source="test.yaml")
    return Outbound(change=change, kind=kind, recipient_id=recipient_id, recipient=cfg.recipients[recipient_id])


def test_the_texts_name_the_pool_and_its_queues_in_both_languages(alerts) -> None:
    raised, resolved = alerts
    sms = render.sms_text(raised, "raised").splitlines()
    assert sms[0].startswith("[floorwatch] 次要 告警 s1/phones: 坐席组 phones（普通、普通（英语））：缺 ")
    assert sms[1].startswith("[floorwatch] MINOR raised s1/phones: Pool phones (Regular, Regular (English)): ")
    assert " agents short (need " in sms[1] and "名坐席（需 " in sms[0]
    assert render.sms_text(resolved, "resolved").splitlines() == [
        "[floorwatch] 次要 已恢复 s1/phones: 已恢复：坐席组 phones（普通、普通（英语））：人手已满足需求（持续 7 分钟）",
        "[floorwatch] MINOR resolved s1/phones: Resolved: Pool phones (Regular, Regular (English)): staffed to the need again"
        " (lasted 7 min)"]
    # An email subject has no message: it lists the queues after the pool.
    assert render.subject(raised, "raised") == "[floorwatch] 次要告警 / MINOR raised: s1/phones (PS, PE) understaffed"
    body = render.email_body(raised, "raised", tz="UTC")
    assert "坐席组 phones（普通、普通（英语））" in body and "Pool phones (Regular, Regular (English))" in body
    # A queue's own alert's subject is as it was.
    assert render.subject({**raised, "queue": "NW", "queues": None}, "raised").endswith(": s1/NW understaffed")


def test_the_pager_and_the_short_sms_template_carry_the_pools_queues(alerts) -> None:
    raised = alerts[0]
    ev = PagerDutySender(PagerDutyChannel(), None, []).event(_outbound(raised, "raised"))  # the event only: no I/O
    assert ev["dedup_key"] == "s1/phones/understaffed" and ev["payload"]["component"] == "phones"
    assert ev["payload"]["custom_details"]["queues"] == ["PS", "PE"]
    assert ev["payload"]["summary"].startswith("[floorwatch] MINOR raised s1/phones: Pool phones (Regular, ")
    # Aliyun's template variables hold 35 characters each: the pool's queues go in ``queue``, so the detail
    # keeps the figures rather than the pool's worded name.
    p = AliyunSmsSender.template_param(_outbound(raised, "raised"))
    short = int(raised["value"])
    assert p["queue"] == "phones:PS,PE"
    assert p["detail"].startswith(f"缺 {short} 名坐席（需 ") and len(p["detail"]) <= 35
    # A queue's own alert keeps its worded detail.
    p = AliyunSmsSender.template_param(_outbound({**raised, "queues": None}, "raised"))
    assert p["queue"] == "phones" and p["detail"].startswith("坐席组 phones")


# -- end to end: the worker's writer, Redis, the service, a loopback SMS gateway ---------


@pytest.mark.integration
async def test_the_pools_alert_pages_the_duty_manager_of_a_member_queue(r, http, session, alerts) -> None:
    from stream.runtime.redis_sink import RedisSink

    routes = [
        {"name": "loans", "match": {"queues": ["NW"]}, "levels": [{"after_min": 0, "notify": [{"to": "floor", "via": "sms"}]}]},
        {"name": "regular", "match": {"queues": ["PS"], "rules": ["understaffed"]},
         "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "sms"}]}]},
    ]  # fmt: skip
    svc = make_service(r, session, base_config(http.url, routes=routes))
    await svc.setup()
    sink = RedisSink(r, prefix="fw:")
    await sink.publish_alerts([alerts[0]])
    await sink.publish_alerts([alerts[0]])  # a rebuilt worker re-emits
    await sink.publish_alerts([alerts[1]])
    while await svc.consume_once(block_ms=100):
        pass
    to = [q.form["To"] for q in http.delivered]
    assert to == [DUTY_PHONE, DUTY_PHONE] and FLOOR_PHONE not in to
    raised, resolved = (q.form["Body"] for q in http.delivered)
    assert "s1/phones: 坐席组 phones（普通、普通（英语））：缺 " in raised and "Pool phones (Regular, Regular (English)): " in raised
    assert "已恢复" in resolved and "resolved" in resolved
    rec = await svc.ledger.esc_get(alerts[0]["id"])
    assert (rec["route"], rec["status"]) == ("regular", "resolved")
