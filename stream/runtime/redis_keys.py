"""Names of floorwatch's Redis keys and channels (docs/redis.md), under one prefix.

Writers (the worker, the dashboard's acks, delivery) and readers share this
one definition so a renamed key cannot drift between them.

>>> k = Keys("fw:")
>>> k.snap("gd-hotline"), k.changes
('fw:snap:gd-hotline', 'fw:changes')
"""

from __future__ import annotations

import os

DEFAULT_PREFIX = "fw:"


def default_prefix() -> str:
    """``FLOORWATCH_REDIS_PREFIX`` or ``fw:``."""
    return os.environ.get("FLOORWATCH_REDIS_PREFIX", DEFAULT_PREFIX)


class Keys:
    """Every key and channel of docs/redis.md for one prefix."""

    def __init__(self, prefix: str | None = None) -> None:
        p = self.prefix = prefix if prefix is not None else default_prefix()
        self.sites = p + "sites"
        self.changes = p + "changes"
        self.rejected = p + "rejected"
        self.alerts = p + "alerts"
        self.alerts_log = p + "alerts:log"
        self.alerts_ch = p + "alerts:ch"
        self.acks = p + "acks"
        self.acks_ch = p + "acks:ch"
        self.silences = p + "silences"
        self.silences_ch = p + "silences:ch"
        self.audit = p + "audit"
        self.feed = p + "feed"
        self.feed_ch = p + "feed:ch"
        self.walls = p + "walls"
        self.advice_ch = p + "advice:ch"
        self.delivery_log = p + "delivery:log"
        self.workers = p + "workers"
        # A random value the first worker to find it missing sets: a different one means Redis lost its data.
        self.instance = p + "instance"

    def snap(self, site: str) -> str:
        return f"{self.prefix}snap:{site}"

    def report(self, site: str) -> str:
        return f"{self.prefix}report:{site}"

    def advice(self, site: str) -> str:
        return f"{self.prefix}advice:{site}"

    def intervals(self, site: str, date: str) -> str:
        return f"{self.prefix}intervals:{site}:{date}"
