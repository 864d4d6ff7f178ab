"""Shared builders for the alert tests: a small floor, one-rule configs, a driver."""

from __future__ import annotations

from stream.alerts.config import DETECTORS, RULES, AlertsConfig
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor

FLOOR = {
    "sites": {
        "s1": {
            "kind": "hotline",
            "timezone": "UTC",
            "queues": {"q": {"name": {"en": "VIP queue", "zh": "VIP队列"}}},
        },
        "h1": {"kind": "hall", "timezone": "UTC", "counters": ["C1"], "queues": {"h": {"name": {"en": "General services", "zh": "普通业务"}}}},
    }
}


def only(rule: str, **settings) -> AlertsConfig:
    """A config where only ``rule`` is on, with ``settings``."""
    rules = {r: {"enabled": r == rule} for r in RULES}
    rules[rule].update(settings)
    return AlertsConfig.from_dict({"defaults": {"rules": rules, "anomaly": {d: {"enabled": False} for d in DETECTORS}}})


def driver(cfg: AlertsConfig, period_ms: int = 30_000) -> AlertDriver:
    return AlertDriver(Floor(FloorConfig.from_dict(FLOOR)), AlertEngine(cfg), period_ms)


def kinds(changes: list[dict]) -> list[tuple[str, str]]:
    return [(c["change"], c["rule"]) for c in changes]
