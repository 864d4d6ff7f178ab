"""The seam between ``Floor`` and its sites: what a site core offers, in types.

Two cores implement it: the specification in Python (``stream.fold.site.SiteCore``)
and the production core in C++ (``stream.fold._native.NativeSite``, typed by
``_native.pyi``). ``Floor`` reads a site only through ``SiteFold``; the native
core's alert view adds ``TrackedSiteFold``. The rows that cross the seam are
the TypedDicts below, not ``dict[str, Any]``. tests/fold/test_interface.py
type-checks both cores against these protocols (mypy) and the stub against the
compiled module (stubtest).
"""

from __future__ import annotations

from typing import Collection, Iterable, Optional, Protocol, Sequence, TypedDict

from stream.contracts.events import Event
from stream.contracts.floor_config import FloorConfig, SiteConfig
from stream.fold.calendar import DayCalendar
from stream.fold.stats import QueueStats

__all__ = [
    "AgentFilter",
    "AgentNow",
    "AlertAgents",
    "AgentRow",
    "ByQueue",
    "DeadLetter",
    "QParams",
    "StateCounts",
    "Staffing",
    "SiteFold",
    "Totals",
    "TrackedSiteFold",
    "TrackedView",
    "WaitingRow",
    "WindowFigures",
]

# One queue's stats per queue name.
ByQueue = dict[str, QueueStats]
# Day totals by local date, interval totals by interval start (epoch ms), and per date the
# agents' [handled, handle ms].
Totals = tuple[dict[str, ByQueue], dict[int, ByQueue], dict[str, dict[str, list[int]]]]
# A queue's service-level T (ms), short-abandon limit (ms) and service-level variant.
QParams = tuple[int, int, str]
# An input rejected by the site, with its reason: the event (the dead-letter topic encodes it).
DeadLetter = tuple[object, str]
# Per queue, per window ("5m", "15m"), its figures (QueueStats.figures, no percentiles).
WindowFigures = dict[str, dict[str, dict[str, object]]]


class WaitingRow(TypedDict):
    """A queue's contacts waiting now (metrics.md: waiting, longest wait, VIP)."""

    waiting: int
    vip_waiting: int
    longest_wait_s: float
    longest_vip_wait_s: float


class AgentNow(TypedDict):
    """An agent's state now, without the day's totals (what the alert rules read)."""

    label: str
    state: str
    reason: Optional[str]
    since: Optional[int]
    time_in_state_s: Optional[float]
    queues: list[str]
    counter: Optional[str]


class AgentRow(AgentNow):
    """An agent's row of a snapshot: its state now and its day (handled, AHT, occupancy, time per state)."""

    occupancy_pct: Optional[float]
    state_s: dict[str, float]
    handled: int
    aht_s: Optional[float]


class StateCounts(TypedDict):
    """Logged-in agents by state, and the not-ready ones by reason."""

    ready: int
    busy: int
    wrap_up: int
    not_ready: int
    logged_in: int
    not_ready_reasons: dict[str, int]


class Staffing(TypedDict):
    """A logged-in agent at a counter, and its state (a hall's counters open)."""

    counter: Optional[str]
    state: str


# What the alert view reads of the agents: (the logged-in agents' rows, per queue its agents
# by state, every skill, the counters' staffing).
AlertAgents = tuple[dict[str, AgentNow], dict[str, StateCounts], list[str], dict[str, Staffing]]
# The native view's: (per queue its windows' figures, waiting, the watched agents' rows,
# per queue its agents by state, every skill, the counters' staffing when asked for).
TrackedView = tuple[
    WindowFigures, dict[str, WaitingRow], dict[str, AgentNow], dict[str, StateCounts], list[str], Optional[dict[str, Staffing]]
]
# The engine's agent filter (AlertEngine.agent_filter): its agent floors, and the agents held.
AgentFilter = tuple[object, Collection[str]]


class SiteFold(Protocol):
    """One site's fold: events in (its own, in arrival order), figures out; event time only."""

    @property
    def site(self) -> str:
        """The site's name."""

    config: FloorConfig
    cfg: SiteConfig
    cal: DayCalendar

    @property
    def clock(self) -> Optional[int]:
        """The site's event-time clock (its latest event or tick); None before any."""

    @property
    def watermark(self) -> int:
        """The clock minus the lateness bound: older events are late."""

    @property
    def events(self) -> int: ...

    @property
    def duplicates(self) -> int: ...

    @property
    def open_count(self) -> int: ...

    @property
    def queues_seen(self) -> set[str]:
        """Every queue the site has had contacts in."""

    @property
    def rejected(self) -> dict[str, int]:
        """Events the site rejected (late, contradicting their contact, expired), by reason."""

    # Rejected events with their reasons since the floor last drained them.
    dead: list[DeadLetter]

    def qparams(self, queue: str) -> QParams: ...

    def set_reference(self, ms: Optional[int]) -> None:
        """The time the events folded next were logged at (a Kafka message's timestamp; None: unknown):
        events too far past it are quarantined instead of moving the clock."""

    def apply(self, ev: Event) -> None:
        """Fold one decoded event of this site."""

    def fold_from(self, evs: list[Event], start: int, same_site: bool, until: int = ...) -> int:
        """Fold ``evs[start:]`` in order; stop at another site's event (``same_site``) or one after
        ``until``; the index it stopped at."""

    def advance(self, now: int) -> None:
        """Move the clock to ``now`` (a tick of a quiet floor)."""

    def flush(self) -> None:
        """End of input: seal every finished contact."""

    def totals(self, dates: Optional[set[str]] = None) -> Totals:
        """Day, interval and agent-day totals, sealed plus open contacts (``dates``: only those)."""

    def day_interval(self, date: str, interval: int) -> tuple[ByQueue, ByQueue, dict[str, list[int]]]:
        """The date's queue totals, one interval's, and the date's agents' [handled, handle ms]."""

    def agent_interval_totals(self, now: int, since: Optional[int] = None, until: Optional[int] = None) -> tuple[dict[int, dict[str, dict[str, int]]], dict[int, dict[tuple[str, str], list[int]]]]:
        """Under ``Limits(agent_intervals=True)``: per 15-minute interval, each agent's ms per state
        label, and per (agent, queue) [handled, handle ms, talk ms, wrap-up ms]; else two empty dicts.
        Only intervals starting in [since, until) when given."""

    def sliding(self, now: int, minutes: Sequence[int] = ..., percentiles: bool = ...) -> dict[str, ByQueue]:
        """Per window ("5m", ...), per queue: the contacts offered in its last N minutes."""

    def waiting(self, now: int) -> dict[str, WaitingRow]: ...

    def agent_states(self, now: int) -> dict[str, AgentNow]: ...

    def agent_rows(
        self, now: int, date: str, agent_days: dict[str, dict[str, list[int]]], occupancy: Optional[dict[str, int]] = None
    ) -> dict[str, AgentRow]:
        """Every agent with a state or contacts handled on ``date``; ``occupancy`` gets each agent's
        ms per state added in."""


class TrackedSiteFold(SiteFold, Protocol):
    """A site that keeps what the alert view reads as it folds (the native core)."""

    def alert_agents(self, now: int) -> AlertAgents:
        """What the alert view reads of the agents, by a scan of them all."""

    def track(self, bucket_ms: int, watched: Iterable[str]) -> None:
        """Keep the windows, waiting contacts and agents in ``watched`` states from now on."""

    def tracked_view(self, now: int, windows: Sequence[int], with_counters: bool, only: Optional[AgentFilter] = None) -> TrackedView:
        """What ``Floor.alert_snapshot`` reads, from what the core kept (``track``)."""
