"""floorwatch's Kafka topics: created explicitly with their partition counts, never by auto-create.

A site's events live in one partition of ``floorwatch.events`` (keyed by site,
hashed modulo the partition count). A broker that auto-creates the topic - a
broker restarted without its log, when the first client asks for it - gives it
its own default count (Tansu: 4, not 8), every site moves partition, and the
worker rebuilds those sites from an empty log. So:

* ``forbid_auto_create()`` makes every aiokafka client of this process (Faust's
  included) ask for metadata with ``allow_auto_topic_creation=false``: a
  missing topic stays missing (UnknownTopicOrPartition) instead of being made
  with the wrong count;
* ``ensure_topics()`` creates what is missing with the configured counts (the
  worker checks every few seconds, the publisher before it sends, ``floorwatch
  up`` right after it restarts its broker), and names a topic whose count is
  not the configured one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence

log = logging.getLogger("floorwatch.topics")

EVENTS_TOPIC = "floorwatch.events"
REJECTED_TOPIC = "floorwatch.rejected"
ALERTS_TOPIC = "floorwatch.alerts"
DEFAULT_PARTITIONS = 8

_TOPIC_ALREADY_EXISTS = 36


class TopicError(RuntimeError):
    """The broker refused to create a topic; the message says which and why."""


def floorwatch_topics(partitions: int = DEFAULT_PARTITIONS) -> dict[str, int]:
    """``{topic: partitions}`` of every floorwatch topic."""
    return {EVENTS_TOPIC: partitions, REJECTED_TOPIC: 1, ALERTS_TOPIC: 1}


def forbid_auto_create() -> None:
    """Every later aiokafka metadata request of this process asks the broker not to create topics."""
    import aiokafka.client as client
    from aiokafka.protocol.metadata import MetadataRequest

    if getattr(client.MetadataRequest, "_floorwatch_no_auto_create", False):
        return
    request = functools.partial(MetadataRequest, allow_auto_topic_creation=False)
    request._floorwatch_no_auto_create = True  # type: ignore[attr-defined]
    client.MetadataRequest = request  # type: ignore[assignment, misc]


def _servers(bootstrap: str | Sequence[str]) -> list[str]:
    servers = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
    out: list[str] = []
    for s in servers:
        out.extend(p.strip().split("://", 1)[-1].rstrip("/") for p in s.replace(";", ",").split(",") if p.strip())
    return out


async def create_topics(
    bootstrap: str | Sequence[str],
    topics: Mapping[str, int],
    *,
    replication_factor: int = 1,
    timeout: float = 10.0,
) -> list[str]:
    """Create Kafka topics ``{name: partitions}`` with aiokafka's admin client.

    *bootstrap* is ``host:port`` or ``kafka://host:port`` (or a list of them).
    Topics that exist already are skipped, whatever their partition count.
    Returns the names that were newly created.

    :raises TopicError: when the broker refuses a topic for another reason.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    if not topics:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=_servers(bootstrap), request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, n, replication_factor) for name, n in topics.items()],
            timeout_ms=int(timeout * 1000),
        )
    finally:
        await admin.close()
    created: list[str] = []
    errors: list[str] = []
    for error in response.topic_errors:
        name, code = error[0], error[1]
        message = error[2] if len(error) > 2 else None
        if code == 0:
            created.append(name)
        elif code != _TOPIC_ALREADY_EXISTS:
            errors.append(f"{name}: error {code} {message or ''}".strip())
    if errors:
        raise TopicError("create_topics failed: " + "; ".join(errors))
    return created


async def partition_counts(bootstrap: str | Sequence[str], names: Sequence[str], timeout: float = 10.0) -> dict[str, int]:
    """``{topic: partitions}`` of those of ``names`` that exist (asking creates none)."""
    from aiokafka.admin import AIOKafkaAdminClient

    forbid_auto_create()
    admin = AIOKafkaAdminClient(bootstrap_servers=_servers(bootstrap), request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in names if n in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if not t.get("error_code")}


async def ensure_topics(bootstrap: str | Sequence[str], partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """Create the floorwatch topics that are missing, with their counts; returns those created.

    A topic that exists with another partition count is left as it is (deleting it would
    lose its log) and named in an error: its sites would be folded in the wrong partitions.
    """
    wanted = floorwatch_topics(partitions)
    have = await partition_counts(bootstrap, list(wanted))
    missing = {t: n for t, n in wanted.items() if t not in have}
    created = await create_topics(bootstrap, missing) if missing else []
    n = have.get(EVENTS_TOPIC)
    if n is not None and n != partitions:
        log.error("%s has %d partitions, not %d: it was made by someone else (auto-create?); "
                  "sites are folded in the wrong partitions until it is re-created", EVENTS_TOPIC, n, partitions)
    return created
