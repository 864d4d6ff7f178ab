"""What the delivery service remembers in Redis, so a restart neither loses nor repeats messages.

Keys (under the floorwatch prefix, ``fw:`` by default; see docs/delivery.md):

``delivery:sent:{alert id}:{state}:{recipient}:{channel}``  string
    The idempotency record of one message: ``{"status": "pending"|"sent"|
    "failed"|"suppressed", ...}``. It is *claimed* (status ``pending``, with a
    lease) before the message is sent and finished after. A claim whose lease
    ran out without finishing belonged to a sender that crashed: the next
    attempt takes it over and sends. Expires after ``record_ttl_days``.
``delivery:notified:{alert id}``  set
    ``recipient|channel`` of everyone a raise reached: the resolve goes to them.
``delivery:esc:{alert id}``  string
    The escalation record: route, level reached, wall time of the raise, and
    ``open``/``acked``/``resolved``.
``delivery:due``  sorted set
    alert id -> wall ms of its next escalation deadline.
``delivery:open``  set
    alert ids still escalating (polled against ``acks`` each tick).
``delivery:log``  stream
    One entry per message sent, failed or suppressed; addresses masked.
"""

from __future__ import annotations

import json
from typing import Any

from stream.runtime.redis_keys import Keys

# Atomic claim: take the record if absent, or if it is a pending claim whose
# lease ran out (its sender crashed). Returns {1, previous} when taken,
# {0, current} when someone else holds or finished it.
_CLAIM = """
local v = redis.call('GET', KEYS[1])
local attempts = 0
if v then
  local rec = cjson.decode(v)
  if rec.status ~= 'pending' or tonumber(rec.lease_until_ms) > tonumber(ARGV[1]) then
    return {0, v}
  end
  attempts = tonumber(rec.attempts or 0)
end
local new = '{"status":"pending","owner":' .. cjson.encode(ARGV[4]) ..
  ',"claimed_ms":' .. ARGV[1] .. ',"lease_until_ms":' .. tostring(tonumber(ARGV[1]) + tonumber(ARGV[2])) ..
  ',"attempts":' .. tostring(attempts) .. '}'
redis.call('SET', KEYS[1], new, 'PX', ARGV[3])
return {1, v or ''}
"""


class Ledger:
    """The delivery service's Redis records (an async ``redis.asyncio.Redis`` with decoded responses)."""

    def __init__(self, redis: Any, keys: Keys, *, ttl_ms: int, log_maxlen: int = 100_000) -> None:
        self.r = redis
        self.k = keys
        self.p = keys.prefix + "delivery:"
        self.ttl_ms = ttl_ms
        self.log_maxlen = log_maxlen
        self._claim = redis.register_script(_CLAIM)
        self.due = self.p + "due"
        self.open = self.p + "open"

    # -- idempotency records

    def record_key(self, alert_id: str, state: str, recipient: str, channel: str) -> str:
        return f"{self.p}sent:{alert_id}:{state}:{recipient}:{channel}"

    async def claim(self, key: str, *, now_ms: int, lease_ms: int, owner: str) -> tuple[bool, dict | None]:
        """Claim a message; ``(True, previous)`` when this sender must send it."""
        won, prev = await self._claim(keys=[key], args=[now_ms, lease_ms, self.ttl_ms, owner])
        return bool(won), (json.loads(prev) if prev else None)

    async def finish(self, key: str, status: str, *, now_ms: int, attempts: int, error: str = "",
                     log_entry: dict[str, Any] | None = None) -> None:
        """Record the message's outcome, and ``log_entry`` in the delivery log, in one transaction:
        a crash between the two would leave a message recorded as sent but missing from the log."""
        rec = {"status": status, "at_ms": now_ms, "attempts": attempts}
        if error:
            rec["error"] = error
        pipe = self.r.pipeline(transaction=True)
        pipe.set(key, json.dumps(rec), px=self.ttl_ms)
        if log_entry is not None:
            pipe.xadd(self.k.delivery_log, self._fields(log_entry), maxlen=self.log_maxlen, approximate=True)
        await pipe.execute()

    async def get_record(self, key: str) -> dict | None:
        v = await self.r.get(key)
        return json.loads(v) if v else None

    # -- who was notified

    async def add_notified(self, alert_id: str, recipient: str, channel: str) -> None:
        key = f"{self.p}notified:{alert_id}"
        await self.r.sadd(key, f"{recipient}|{channel}")
        await self.r.pexpire(key, self.ttl_ms)

    async def notified(self, alert_id: str) -> list[tuple[str, str]]:
        members = await self.r.smembers(f"{self.p}notified:{alert_id}")
        return sorted(tuple(m.split("|", 1)) for m in members)  # type: ignore[misc]

    # -- escalation records

    async def esc_create(self, alert_id: str, rec: dict) -> bool:
        """Create the escalation record unless one exists (a repeated raise)."""
        return bool(await self.r.set(f"{self.p}esc:{alert_id}", json.dumps(rec), nx=True, px=self.ttl_ms))

    async def esc_get(self, alert_id: str) -> dict | None:
        v = await self.r.get(f"{self.p}esc:{alert_id}")
        return json.loads(v) if v else None

    async def esc_put(self, alert_id: str, rec: dict) -> None:
        await self.r.set(f"{self.p}esc:{alert_id}", json.dumps(rec), px=self.ttl_ms)

    async def schedule(self, alert_id: str, due_ms: int | None, *, only_new: bool = False) -> None:
        """Set (or with ``due_ms=None`` clear) the alert's next deadline; ``only_new`` keeps an existing one."""
        if due_ms is None:
            if not only_new:
                await self.r.zrem(self.due, alert_id)
        else:
            await self.r.zadd(self.due, {alert_id: due_ms}, nx=only_new)

    async def due_ids(self, now_ms: int) -> list[str]:
        return list(await self.r.zrangebyscore(self.due, "-inf", now_ms))

    # -- delivery log

    async def log(self, entry: dict[str, Any]) -> None:
        await self.r.xadd(self.k.delivery_log, self._fields(entry), maxlen=self.log_maxlen, approximate=True)

    @staticmethod
    def _fields(entry: dict[str, Any]) -> dict[str, str]:
        return {k: ("" if v is None else str(v)) for k, v in entry.items()}
