"""Asterisk's ``queue_log`` as floorwatch events: the pure line-by-line mapping.

Asterisk's app_queue writes one line per queue event (``/var/log/asterisk/
queue_log``; see docs.asterisk.org, "Queue Logs")::

    epoch|uniqueid|queuename|agent|event|data1|data2|...

Three layouts are read, line by line, whichever comes:

* the log file: ``|``-separated, as many data fields as the event has (older
  releases wrote fewer: ``CONNECT`` without ringtime, ``ENTERQUEUE`` without
  position, ``EXITWITHKEY`` without origposition/waittime);
* a realtime table exported tab-separated with Asterisk 1.x's single ``data``
  column (the data fields joined by ``|``);
* the same with the later ``data1``..``data5`` columns (empty ones meaning absent).

The time is epoch seconds (the file) or ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (the
table: local time in the site's timezone).

The mapping (``QueueLogMapper``; every event id is derived from the line:
``<ms>.<n>:<uniqueid>:<EVENT>[:<part>]``, ``n`` numbering the lines of the same
millisecond, so ids sort in log order and a line read twice gives the same ids):

* ``ENTERQUEUE`` → ``call_offered`` (call ``<uniqueid>@<epoch>``; the caller ID
  hashed, masked or dropped per the site's ``asterisk.caller``, never in clear;
  ``vip`` from the queue's config);
* ``CONNECT`` → ``call_answered`` by the member, and the agent ``busy``;
* ``COMPLETECALLER``/``COMPLETEAGENT`` → ``call_ended`` (queue_log records no
  wrap-up), the agent ``ready`` again (or ``not_ready`` if paused meanwhile);
* ``TRANSFER``/``BLINDTRANSFER`` to a target listed in ``asterisk.transfers``
  → ``call_transferred`` to that queue (the ``ENTERQUEUE`` Asterisk then writes
  for it continues the same contact); to any other target, and
  ``ATTENDEDTRANSFER`` (its data name a method, not a target) → ``call_ended``;
* ``ABANDON``, ``EXITWITHTIMEOUT``, ``EXITEMPTY``, ``EXITWITHKEY``, ``AGENTDUMP``
  → ``call_abandoned`` (the caller left the queue without an agent);
* ``ADDMEMBER``/``REMOVEMEMBER``, ``PAUSE``/``UNPAUSE`` (data1 is the reason),
  ``PAUSEALL``/``UNPAUSEALL``, ``AGENTLOGIN``/``AGENTLOGOFF``,
  ``AGENTCALLBACKLOGIN``/``AGENTCALLBACKLOGOFF`` → ``agent_state`` when the
  agent's state changes: ``logged_out`` (no queue and no login), ``busy`` (on a
  queue call), ``not_ready`` with the pause reason (paused in every queue it
  serves, or PAUSEALL), else ``ready``; ``queues`` are the queues it serves;
* ``QUEUESTART`` (Asterisk started: every channel is gone) closes the calls
  still open at the last line before it — waiting ones abandoned, talking ones
  ended — and dead-letters each with the reason;
* an ``ENTERQUEUE`` of a call whose last leg is still open closes that leg
  the same way at its time (the log lost its end), dead-lettered too;
* ``CONFIGRELOAD``, ``RINGNOANSWER``, ``RINGCANCELED``, ``SYSCOMPAT`` change
  nothing on the floor (counted in ``stats``).

What cannot be mapped — an unknown event, a ``CONNECT`` whose ``ENTERQUEUE``
is not in the log read (rotated away mid-call), a broken line — comes back as a
:class:`Dead` with its reason, the caller ID in it masked.

>>> m = QueueLogMapper("sz", SiteConfig(asterisk=AsteriskSource(queues={"q1": "support"})))
>>> out = m.feed(b"1700000000|1700000000.7|q1|NONE|ENTERQUEUE||13812345678|1")
>>> out[0].kind, out[0].queue, out[0].caller, out[0].id
('call_offered', 'support', '138****5678', '1700000000000.0:1700000000.7:ENTERQUEUE')
>>> [e.kind for e in m.feed(b"1700000009|1700000000.7|q1|PJSIP/1001|CONNECT|9|1700000009.8|2")]
['call_answered', 'agent_state']
>>> m.feed(b"1700000010|1700000099.1|q1|PJSIP/1001|CONNECT|9|x|2")[0].reason
'asterisk: CONNECT without ENTERQUEUE (log rotated mid-call?)'
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Callable, Optional, Union

from stream.contracts.events import (
    AgentState,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallTransferred,
    Event,
)
from stream.contracts.floor_config import AsteriskSource, FloorConfig, SiteConfig, zone
from stream.delivery.privacy import mask_phone
from stream.sources.formats import Dead, SourceError

__all__ = ["Dead", "QueueLogMapper", "SourceError", "caller_function", "resolve_site", "EVENTS"]


# Call events that end the caller's wait without an agent (metrics.md: abandoned).
_LEFT = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "AGENTDUMP"})
_COMPLETE = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
_TRANSFER = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
# Events that change nothing on the floor: counted, not dead-lettered.
_INFO = frozenset({"CONFIGRELOAD", "RINGNOANSWER", "RINGCANCELED", "SYSCOMPAT"})
_MEMBER = frozenset({
    "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
    "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF",
})  # fmt: skip
EVENTS = frozenset({"ENTERQUEUE", "CONNECT", "QUEUESTART"}) | _LEFT | _COMPLETE | _TRANSFER | _INFO | _MEMBER

_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_DB_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
# A phone number's length of digits, not part of a uniqueid or an epoch with decimals.
_LONG_DIGITS = re.compile(r"(?<![\d.])\+?\d{7,}(?![\d.])")
_NONE = ("", "NONE")
_HAS_DIGIT = re.compile(r"\d").search
_NOT_DIAL = re.compile(r"[^\d+]")
_MAX_ID = 128
_MAX_MS = 4_102_444_800_000  # the wire format's last instant (2100)

# Call stages.
_WAITING, _TALKING, _MOVING = "waiting", "talking", "moving"


def caller_function(site: str, src: AsteriskSource, env: dict) -> Callable[[str], Optional[str]]:
    """The caller ID as it may leave this module: hashed, masked or dropped (``asterisk.caller``).

    ``hash`` needs the secret in ``src.caller_key_env``; each site hashes with
    its own key (HMAC of the site's name under the secret), so the same number
    cannot be linked across sites.
    """
    if src.caller == "drop":
        return lambda number: None
    if src.caller == "mask":
        return lambda number: mask_phone(number) if _HAS_DIGIT(number) else None
    secret = env.get(src.caller_key_env, "")
    if not secret:
        raise SourceError(f"site {site}: asterisk.caller is hash but ${src.caller_key_env} is not set")
    key = hmac.new(secret.encode(), site.encode(), hashlib.sha256).digest()

    def hashed(number: str) -> Optional[str]:
        digits = _NOT_DIAL.sub("", number)
        if not _HAS_DIGIT(digits):
            return None
        return "sha256:" + hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:32]

    return hashed


def resolve_site(cfg: FloorConfig, site: Optional[str]) -> tuple[str, SiteConfig]:
    """The site a queue_log feeds: ``site`` if given, else the one site with an ``asterisk:`` section."""
    if site is not None:
        sc = cfg.sites.get(site)
        if sc is None:
            raise SourceError(f"no site {site!r} in the floor config (sites: {', '.join(sorted(cfg.sites)) or 'none'})")
        return site, sc
    fed = [s for s, sc in cfg.sites.items() if sc.asterisk is not None]
    if len(fed) == 1:
        return fed[0], cfg.sites[fed[0]]
    if not fed:
        raise SourceError("no site in the floor config has an asterisk: section; add one or give --site")
    raise SourceError(f"several sites have an asterisk: section ({', '.join(sorted(fed))}); give --site")


class _Call:
    __slots__ = ("call", "queue", "stage", "agent", "to_queue")

    def __init__(self, call: str, queue: str, stage: str = _WAITING, agent: Optional[str] = None,
                 to_queue: Optional[str] = None) -> None:
        self.call = call
        self.queue = queue
        self.stage = stage
        self.agent = agent
        self.to_queue = to_queue


class _Agent:
    __slots__ = ("queues", "paused", "pause_all", "reason", "login", "calls", "last")

    def __init__(self) -> None:
        self.queues: set[str] = set()  # the queues it serves (floorwatch names)
        self.paused: set[str] = set()  # ... of which paused
        self.pause_all = False
        self.reason: Optional[str] = None  # the latest pause reason
        self.login: Optional[bool] = None  # AGENTLOGIN/LOGOFF; None: membership decides
        self.calls: set[str] = set()  # uniqueids of its calls in progress
        self.last: Optional[tuple] = None  # (state, reason, queues) last emitted


class QueueLogMapper:
    """Maps queue_log lines, one at a time, to wire events and dead letters.

    Pure: no I/O, no clock. Its state (open calls, agents, the line counter)
    round-trips through :meth:`state`/:meth:`restore`, so ``floorwatch tail``
    resumes after a restart exactly where it stopped.
    """

    def __init__(self, site: str, sc: SiteConfig, caller: Optional[Callable[[str], Optional[str]]] = None) -> None:
        self.site = site
        self.sc = sc
        self.src = sc.asterisk if sc.asterisk is not None else AsteriskSource()
        self.tz = zone(sc.timezone)
        self.caller = caller if caller is not None else caller_function(site, self.src, {})
        self.calls: dict[str, _Call] = {}
        self.agents: dict[str, _Agent] = {}
        self.last_ms: Optional[int] = None  # the latest line's time
        self._prev_ms: Optional[int] = None  # the time of the line before it
        self.n = 0  # lines read at last_ms before this one
        self.stats: dict[str, int] = {}
        self.rejected: dict[str, int] = {}

    # -- state ----------------------------------------------------------------

    def state(self) -> dict:
        """Everything the mapping remembers, as plain JSON data."""
        return {
            "calls": {u: [c.call, c.queue, c.stage, c.agent, c.to_queue] for u, c in self.calls.items()},
            "agents": {
                a: {"queues": sorted(s.queues), "paused": sorted(s.paused), "pause_all": s.pause_all,
                    "reason": s.reason, "login": s.login, "calls": sorted(s.calls),
                    "last": list(s.last) if s.last is not None else None}
                for a, s in self.agents.items()
            },
            "last_ms": self.last_ms,
            "n": self.n,
        }

    def restore(self, st: dict) -> None:
        self.calls = {u: _Call(*v) for u, v in st.get("calls", {}).items()}
        self.agents = {}
        for a, d in st.get("agents", {}).items():
            s = _Agent()
            s.queues, s.paused, s.calls = set(d["queues"]), set(d["paused"]), set(d["calls"])
            s.pause_all, s.reason, s.login = d["pause_all"], d["reason"], d["login"]
            last = d.get("last")
            s.last = (last[0], last[1], tuple(last[2])) if last is not None else None
            self.agents[a] = s
        self.last_ms = st.get("last_ms")
        self.n = st.get("n", 0)

    # -- lines ----------------------------------------------------------------

    def feed(self, raw: bytes) -> list[Union[Event, Dead]]:
        """One line (with or without its line break) as events and dead letters, in order."""
        line = raw.rstrip(b"\r\n")
        if not line or line.isspace():
            return []
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return [self._dead(_scrub_garbage(line), "not UTF-8")]
        fields = _split(text)
        if fields is None:
            return [self._dead(_scrub_garbage(line), "not a queue_log line")]
        ms = self._time(fields[0])
        if ms is None:
            return [self._dead(_scrub_garbage(line), "bad time")]
        uid, queue, agent, event = fields[1], fields[2], fields[3], fields[4]
        data = fields[5:]
        if event not in EVENTS and _EVENT_NAME.fullmatch(event) is None:
            return [self._dead(_scrub_garbage(line), "bad event name")]
        self._prev_ms = self.last_ms
        if ms == self.last_ms:
            self.n += 1
        else:
            self.last_ms, self.n = ms, 0
        eid = f"{ms}.{self.n}:{uid[:48]}:{event}"
        self.stats[event] = self.stats.get(event, 0) + 1
        if event not in EVENTS:
            return [self._dead(_scrub(fields), f"unknown event {event}")]
        try:
            return self._map(ms, eid, uid, queue, agent, event, data, fields)
        except _Unmapped as exc:
            return [self._dead(_scrub(fields), str(exc))]

    def _time(self, text: str) -> Optional[int]:
        if text.isdigit() and 9 <= len(text) <= 10:
            ms = int(text) * 1000
            return ms if ms <= _MAX_MS else None
        m = _DB_TIME.fullmatch(text)
        if m is None:
            return None
        try:
            dt = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]),
                          int((m[7] or "0").ljust(6, "0")), tzinfo=self.tz)
        except ValueError:
            return None
        ms = int(dt.timestamp()) * 1000 + dt.microsecond // 1000
        return ms if 0 <= ms <= _MAX_MS else None

    def _dead(self, raw: bytes, reason: str) -> Dead:
        reason = f"asterisk: {reason}"
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        return Dead(raw, reason)

    # -- the mapping ----------------------------------------------------------

    def _queue(self, name: str) -> str:
        q = self.src.queues.get(name)
        if q is not None:
            return q
        if self.src.only_listed_queues:
            raise _Unmapped(f"queue {name} not in asterisk.queues")
        if not name or name == "NONE" or len(name) > 64:
            raise _Unmapped("bad queue name")
        return name

    def _agent_id(self, name: str) -> str:
        a = self.src.agents.get(name, name)
        if not a or a == "NONE" or len(a) > _MAX_ID:
            raise _Unmapped("bad agent name")
        return a

    def _map(self, ms: int, eid: str, uid: str, queue: str, agent: str, event: str,
             data: list[str], fields: list[str]) -> list:
        site = self.site
        if event == "ENTERQUEUE":
            q = self._queue(queue)
            c = self.calls.get(uid)
            if c is not None and c.stage == _MOVING and c.to_queue == q:
                # Transferred into this queue: the call_transferred already offered it here.
                c.stage, c.queue, c.to_queue = _WAITING, q, None
                return []
            out: list = []
            if c is not None:
                # Its end is not in the log: it left that queue by now at the latest.
                out += self._close(uid, c, ms, f"{eid}:stale", f"ENTERQUEUE of a call still {c.stage} in {c.queue}: closed")
            call = f"{uid}@{ms // 1000}"
            if not uid or uid in _NONE or len(call) > _MAX_ID:
                raise _Unmapped("bad uniqueid")
            self.calls[uid] = _Call(call, q)
            qc = self.sc.queues.get(q)
            caller = self.caller(_at(data, 1)) if _at(data, 1) else None
            out.append(CallOffered(id=eid, ts=ms, site=site, call=call, queue=q, vip=bool(qc and qc.vip), caller=caller))
            return out
        if event == "QUEUESTART":
            return self._restart(eid)
        if event in _INFO:
            return []
        if event in _MEMBER:
            return self._member(ms, eid, queue, agent, event, data)

        c = self.calls.get(uid)
        if event == "CONNECT":
            if c is None or c.stage != _WAITING:
                raise _Unmapped("CONNECT without ENTERQUEUE (log rotated mid-call?)")
            aid = self._agent_id(agent)
            c.stage, c.agent = _TALKING, aid
            a = self._member_of(aid, c.queue)
            a.calls.add(uid)
            return [CallAnswered(id=eid, ts=ms, site=site, call=c.call, agent=aid), *self._agent_change(aid, a, ms, eid)]
        if c is None:
            raise _Unmapped(f"{event} without ENTERQUEUE (log rotated mid-call?)")
        if event in _LEFT:
            if c.stage != _WAITING:
                raise _Unmapped(f"{event} of a call not waiting")
            del self.calls[uid]
            return [CallAbandoned(id=eid, ts=ms, site=site, call=c.call)]
        if c.stage != _TALKING:
            raise _Unmapped(f"{event} without CONNECT")
        target = None
        if event in ("TRANSFER", "BLINDTRANSFER"):
            exten, context = _at(data, 0), _at(data, 1)
            target = self.src.transfers.get(f"{exten}@{context}") or self.src.transfers.get(exten)
        if target is not None:
            out = [CallTransferred(id=eid, ts=ms, site=site, call=c.call, to_queue=target)]
            c.stage, c.to_queue = _MOVING, target
        else:
            out = [CallEnded(id=eid, ts=ms, site=site, call=c.call)]
            del self.calls[uid]
        return out + self._free(c, uid, ms, eid)

    def _close(self, uid: str, c: _Call, ms: int, cid: str, reason: str, free: bool = True) -> list:
        """End a call whose end is not in the log: talking ones ended, the others abandoned; dead-lettered."""
        cls = CallEnded if c.stage == _TALKING else CallAbandoned
        out: list = [cls(id=cid, ts=ms, site=self.site, call=c.call),
                     self._dead(f"{uid}|{c.queue}|{c.stage}".encode(), reason)]
        self.calls.pop(uid, None)
        return out + (self._free(c, uid, ms, cid) if free else [])

    def _free(self, c: _Call, uid: str, ms: int, eid: str) -> list:
        aid = c.agent
        c.agent = None
        a = self.agents.get(aid) if aid is not None else None
        if a is None:
            return []
        a.calls.discard(uid)
        return self._agent_change(aid, a, ms, eid)

    def _member_of(self, aid: str, q: Optional[str]) -> _Agent:
        a = self.agents.get(aid)
        if a is None:
            a = self.agents[aid] = _Agent()
        if q is not None:
            a.queues.add(q)
        return a

    def _member(self, ms: int, eid: str, queue: str, agent: str, event: str, data: list[str]) -> list:
        aid = self._agent_id(agent)
        q = self._queue(queue) if queue not in _NONE else None
        a = self._member_of(aid, q if event != "REMOVEMEMBER" else None)
        if event == "ADDMEMBER":
            a.login = None
        elif event == "REMOVEMEMBER":
            if q is not None:
                a.queues.discard(q)
                a.paused.discard(q)
        elif event == "PAUSE" or event == "PAUSEALL":
            reason = _at(data, 0)[:64] or None
            a.reason = reason if reason is not None else a.reason
            if event == "PAUSEALL" or q is None:
                a.pause_all = True
                a.paused |= a.queues
            else:
                a.paused.add(q)
        elif event == "UNPAUSE" or event == "UNPAUSEALL":
            if event == "UNPAUSEALL" or q is None:
                a.pause_all = False
                a.paused.clear()
            else:
                a.paused.discard(q)
                a.pause_all = False
        elif event in ("AGENTLOGIN", "AGENTCALLBACKLOGIN"):
            a.login = True
        else:  # AGENTLOGOFF, AGENTCALLBACKLOGOFF
            a.login = False
            a.paused.clear()
            a.pause_all = False
        return self._agent_change(aid, a, ms, eid)

    def _agent_change(self, aid: str, a: _Agent, ms: int, eid: str) -> list:
        logged = a.login if a.login is not None else bool(a.queues or a.calls)
        reason = None
        if not logged:
            state = "logged_out"
        elif a.calls:
            state = "busy"
        elif a.pause_all or (a.paused and a.paused >= a.queues):
            state, reason = "not_ready", a.reason
        else:
            state = "ready"
        queues = tuple(sorted(a.queues))
        now = (state, reason, queues)
        if now == a.last:
            return []
        a.last = now
        return [AgentState(id=f"{eid}:agent", ts=ms, site=self.site, agent=aid, state=state, reason=reason,
                           queues=list(queues) if queues and state != "logged_out" else None)]

    def _restart(self, eid: str) -> list:
        """Asterisk (re)started: every call still open was cut off when it stopped."""
        out: list = []
        # The last moment Asterisk was known up: the line before QUEUESTART.
        at = self._prev_ms if self._prev_ms is not None else self.last_ms or 0
        for uid, c in sorted(self.calls.items()):
            out += self._close(uid, c, at, f"{eid}:{uid[:48]}", f"call {c.stage} when Asterisk restarted: closed",
                               free=False)
        self.calls.clear()
        for aid, a in sorted(self.agents.items()):
            if a.calls:
                a.calls.clear()
                out.extend(self._agent_change(aid, a, at, f"{eid}:{aid[:40]}"))
        return out


class _Unmapped(Exception):
    """The line is well-formed but cannot be mapped; the message is the reason."""


def _at(data: list[str], i: int) -> str:
    return data[i] if i < len(data) else ""


def _split(text: str) -> Optional[list[str]]:
    """The fields of a line in any of the three layouts; None if it is not one."""
    if "\t" in text:
        f = text.split("\t")
        if len(f) == 6:  # Asterisk 1.x realtime: one data column, fields joined by |
            f = f[:5] + f[5].split("|")
        while len(f) > 5 and f[-1] == "":
            f.pop()  # data1..data5 left empty
    else:
        f = text.split("|")
    return f if len(f) >= 5 else None


def _scrub(fields: list[str]) -> bytes:
    """The line for a dead letter: digit runs of phone length in the data fields masked."""
    out = fields[:5] + [_LONG_DIGITS.sub(lambda m: mask_phone(m[0]), x) for x in fields[5:]]
    return "|".join(out).encode()


def _scrub_garbage(line: bytes) -> bytes:
    """A line that is not a queue_log line: every long digit run masked but a leading epoch."""
    text = line.decode("utf-8", "replace")
    head = re.match(r"\d{9,10}(?=\|)", text)
    keep = head.end() if head else 0
    return (text[:keep] + _LONG_DIGITS.sub(lambda m: mask_phone(m[0]), text[keep:])).encode()
