"""The alert engine inside a stream worker: one driver per partition, fed batch after batch.

The worker's partition fold (``stream.runtime.partition``) calls the hook with each
decoded batch; the hook applies the events to the partition's floor through
an ``AlertDriver`` (so sites are evaluated on event-time boundaries, exactly
as ``floorwatch alerts`` does on a replay) and returns the alert changes.
The engine's state is part of the partition's state: a rebuilt partition
rebuilds its alerts from the same log and raises the same ones at the same
moments, with the same ids, which is what makes the Redis writes and the
delivery service's once-per-recipient guarantee hold across restarts.
Acknowledgements are kept out of the engine (they are not in the log): the
wall and delivery overlay them from ``fw:acks``.

What the log cannot give back is what the detectors learnt from the part of
it that retention removed (weeks of seasonal profiles against two days of
log): the hook's ``checkpoint()`` is saved in Redis with the offset it
reflects (``stream.alerts.checkpoints``), and a partition rebuilt from a log
whose start is gone resumes from it (``resume``).

    factory = hook_factory(floor_config)          # once per worker
    hook = factory()                              # once per partition
    changes = hook(partition_floor, events)       # per batch
    ckpt = hook.checkpoint()                      # now and then, into Redis
"""

from __future__ import annotations

from typing import Callable, Optional

from stream.alerts.config import AlertsConfig, load_alerts
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor

Hook = Callable[[Floor, list], list]


class AlertHook:
    """One partition's alert driver (made on the first batch, for the partition's floor), and
    its detectors' checkpoint: ``checkpoint()`` what they have learnt, ``resume(ckpt)`` before
    the first batch to start from it (see :meth:`AlertEngine.resume`)."""

    def __init__(self, alerts: AlertsConfig, period_ms: int, annotate: Optional[Callable] = None) -> None:
        self.alerts = alerts
        self.period_ms = period_ms
        self.annotate = annotate
        self.driver: Optional[AlertDriver] = None
        self._floor: Optional[int] = None
        self._resume: Optional[dict] = None

    def __call__(self, floor: Floor, events: list) -> list:
        if self.driver is None or self._floor != id(floor):
            # A partition has one floor; a rebuild brings a new one (and a new engine).
            engine = AlertEngine(self.alerts)
            if self._resume is not None:
                engine.resume(self._resume)
            self.driver, self._floor = AlertDriver(floor, engine, self.period_ms, annotate=self.annotate), id(floor)
        return self.driver.feed(events)

    def checkpoint(self) -> Optional[dict]:
        """The detectors' checkpoint (JSON), or None before the first batch."""
        return None if self.driver is None else self.driver.engine.checkpoint()

    def resume(self, ckpt: dict) -> None:
        """Start the next driver's engine from ``ckpt`` (call before the first batch)."""
        self._resume = ckpt


def hook_factory(config: FloorConfig, alerts: Optional[AlertsConfig] = None, period_ms: int = 30_000,
                 annotate: Optional[Callable] = None) -> Callable[[], AlertHook]:
    """A factory of per-partition hooks sharing one validated alerts config (and ``annotate``:
    the staffing advice the ``understaffed`` rule reads, ``Advisor.annotate``; by default an
    advisor without history, as ``floorwatch alerts --replay`` has)."""
    acfg = alerts if alerts is not None else load_alerts()
    if annotate is None:
        from stream.runtime.advisor import Advisor

        # Without a history database: the advice from the live figures (what a replay makes too).
        annotate = Advisor(config).annotate
    return lambda: AlertHook(acfg, period_ms, annotate)
