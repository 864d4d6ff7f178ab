"""The seam between ``Floor`` and its sites: what a site core offers, in types.

Two cores implement it: the specification in Python (``stream.fold.site.SiteCore``)
and the production core in C++ (``stream.fold._native.NativeSite``, typed by
``_native.pyi``). ``Floor``, and every reader of live figures (the alert view in
``stream/alerts/view.py``), reads a site only through ``SiteFold``. The rows
that cross the seam are the TypedDicts below, not ``dict[str, Any]``.
tests/fold/test_interface.py type-checks both cores against the protocol (mypy)
and the stub against the compiled module (stubtest).

What the fold offers for reading the floor now (sliding windows, contacts
waiting, agents by queue and state, time in state) is general: it knows
nothing of alert rules. A reader that asks often can have the site keep
those readings as it folds (``keep_live``), so a reading costs what changed
since the last one, not a scan; the figures are the same either way.
"""

from __future__ import annotations

from typing import Collection, Mapping, Optional, Protocol, Sequence, TypedDict

from stream.contracts.events import Event
from stream.contracts.floor_config import FloorConfig, SiteConfig
from stream.fold.calendar import DayCalendar
from stream.fold.stats import QueueStats

__all__ = [
    "AgentNow",
    "AgentRow",
    "ByQueue",
    "DeadLetter",
    "QParams",
    "QueueNow",
    "StateCounts",
    "SiteFold",
    "StateAges",
    "Totals",
    "WaitingRow",
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
# Per agent state, how long (s) an agent must have been in it to be asked for: (the bar for any
# reason, {not-ready reason (None: none given): its own bar}) (SiteFold.agents_in).
StateAges = Mapping[str, tuple[float, Mapping[Optional[str], float]]]


class WaitingRow(TypedDict):
    """A queue's contacts waiting now (metrics.md: waiting, longest wait, VIP)."""

    waiting: int
    vip_waiting: int
    longest_wait_s: float
    longest_vip_wait_s: float


class QueueNow(TypedDict):
    """A queue's contacts now, as a wait predictor reads them (stream/predict): who waits since
    when and in which class, and who is being handled since when."""

    # (offered ms, class) of each waiting leg, in the order served: class first (a leg's
    # priority, 1 for a VIP without one; higher first), then by offered time.
    waiting: list[tuple[int, int]]
    # (offered ms, answered ms) of each leg answered and not yet done (talk, hold or wrap-up),
    # by answered time.
    serving: list[tuple[int, int]]


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
        """Per window ("5m", ...), per queue: the contacts offered in its last N minutes (metrics.md,
        "Windows"); AHT by handling end. The one computation of the sliding windows."""

    def waiting(self, now: int) -> dict[str, WaitingRow]:
        """Per queue: the contacts waiting now, the longest wait, VIPs waiting."""

    def queue_now(self) -> dict[str, QueueNow]:
        """Per queue, the contacts waiting and being handled as folded so far (``QueueNow``)."""

    def agent_states(self, now: int) -> dict[str, AgentNow]:
        """Every agent's state now (logged out too), without the day's totals, in the site's order."""

    def primary_counts(self, now: int) -> tuple[dict[str, dict[str, int]], int]:
        """Per queue, its logged-in and ready agents counted on their primary (first) skill only
        (``{"logged_in", "ready"}``: what staffing advice holds against a queue's need); and how
        many agents the site knows, logged out too (0: a floor that reports no agent states)."""

    def agent_counts(self, now: int) -> tuple[dict[str, StateCounts], list[str]]:
        """Per queue its logged-in agents by state (an agent once in each of its skills); and every
        skill any agent has, logged out or not."""

    def agents_in(
        self, now: int, states: Collection[str], older_than: Optional[StateAges] = None, also: Collection[str] = ()
    ) -> dict[str, AgentNow]:
        """The logged-in agents in one of ``states``, with their time in state, in no set order.
        With ``older_than``: only those in their state for longer than its bar (by not-ready
        reason), and those named in ``also``. Read the rows; the next call may reuse them."""

    def staffing(self) -> dict[str, str]:
        """Each counter staffed by a logged-in agent, and that agent's state (the later agent wins)."""

    def keep_live(self, bucket_ms: int, minutes: Sequence[int], states: Collection[str]) -> None:
        """From now on, keep the readings above as events fold: the windows of ``minutes`` in buckets
        of ``bucket_ms`` (a window ending at the clock on a bucket edge is then the sum of its
        buckets), the contacts that may wait, the agents by queue and state, and those in
        ``states`` listed. Changes no figure; the specification scans always (a no-op there)."""

    def agent_rows(
        self, now: int, date: str, agent_days: dict[str, dict[str, list[int]]], occupancy: Optional[dict[str, int]] = None
    ) -> dict[str, AgentRow]:
        """Every agent with a state or contacts handled on ``date``; ``occupancy`` gets each agent's
        ms per state added in."""
