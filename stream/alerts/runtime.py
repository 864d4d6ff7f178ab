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

    factory = hook_factory(floor_config)          # once per worker
    hook = factory()                              # once per partition
    changes = hook(partition_floor, events)       # per batch
"""

from __future__ import annotations

from typing import Callable, Optional

from stream.alerts.config import AlertsConfig, load_alerts
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor

Hook = Callable[[Floor, list], list]


def hook_factory(config: FloorConfig, alerts: Optional[AlertsConfig] = None, period_ms: int = 30_000) -> Callable[[], Hook]:
    """A factory of per-partition hooks sharing one validated alerts config."""
    acfg = alerts if alerts is not None else load_alerts()

    def make() -> Hook:
        drivers: dict[int, AlertDriver] = {}

        def hook(floor: Floor, events: list) -> list:
            drv = drivers.get(id(floor))
            if drv is None:
                drivers.clear()  # a partition has one floor; a rebuild brings a new one
                drv = drivers[id(floor)] = AlertDriver(floor, AlertEngine(acfg), period_ms)
            return drv.feed(events)

        return hook

    return make
