#!/usr/bin/env python3
"""A hall's queue-ticket machine (叫号系统) pushing its events to floorwatch over HTTP.

Standard library only, so it runs on the machine's own Python. Each event is
sent once the machine knows it (a ticket taken, a counter calling it, service
done); a failed or refused request is retried with the same event ids, which
floorwatch ignores when it already has them.

    FLOORWATCH_URL=http://floorwatch:8080 FLOORWATCH_TOKEN=<ingest token> \\
        python3 ticket_machine.py --site hall-tianhe --demo

The events are floorwatch's wire format (docs/events.md); a ticket number must
be unique in the site for the day, hence the date in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))


class Floorwatch:
    """POST /api/events with the ingest token; retries on 429 (after Retry-After), 503 and network errors."""

    def __init__(self, url: str, token: str, tries: int = 8) -> None:
        self.url = url.rstrip("/") + "/api/events"
        self.token = token
        self.tries = tries

    def send(self, events: list[dict]) -> dict:
        body = "\n".join(json.dumps(e, ensure_ascii=False) for e in events).encode()
        delay = 1.0
        for attempt in range(self.tries):
            req = urllib.request.Request(self.url, data=body, method="POST", headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 429:
                    time.sleep(float(exc.headers.get("Retry-After", "1")))
                    continue
                if exc.code == 503:
                    time.sleep(delay)
                    delay = min(delay * 2, 30)
                    continue
                # 400/401/403/413/422: retrying the same body will not help.
                raise SystemExit(f"floorwatch refused the events ({exc.code}): {exc.read().decode(errors='replace')}")
            except urllib.error.URLError as exc:
                print(f"floorwatch unreachable ({exc.reason}); retrying", file=sys.stderr)
                time.sleep(delay)
                delay = min(delay * 2, 30)
        raise SystemExit(f"floorwatch did not take the events after {self.tries} tries")


class TicketMachine:
    """Turns what happens at the hall into wire events (ids from site, ticket and step: safe to resend)."""

    def __init__(self, site: str, fw: Floorwatch) -> None:
        self.site = site
        self.fw = fw

    def _event(self, kind: str, ticket: str, at: datetime, **fields) -> dict:
        return {"id": f"{self.site}:{ticket}:{kind}", "ts": at.isoformat(timespec="milliseconds"),
                "site": self.site, "kind": kind, "ticket": ticket, **fields}

    def issued(self, ticket: str, queue: str, at: datetime, vip: bool = False) -> dict:
        return self._event("ticket_issued", ticket, at, queue=queue, vip=vip)

    def called(self, ticket: str, counter: str, at: datetime, agent: str | None = None) -> dict:
        return self._event("ticket_called", ticket, at, counter=counter, **({"agent": agent} if agent else {}))

    def completed(self, ticket: str, at: datetime) -> dict:
        return self._event("ticket_completed", ticket, at)

    def no_show(self, ticket: str, at: datetime) -> dict:
        return self._event("ticket_no_show", ticket, at)

    def push(self, *events: dict) -> dict:
        answer = self.fw.send(list(events))
        for r in answer.get("rejected", []):
            print(f"rejected event {r['index']}: {r['reason']}", file=sys.stderr)
        return answer


def demo(m: TicketMachine, start: datetime) -> int:
    """A morning's first tickets at a hall, sent in the order they happen, a few at a time.

    Send as things happen: floorwatch folds on event time and refuses what
    comes later than its lateness bound (a minute by default) behind the rest.
    """
    day = start.strftime("%Y%m%d")
    evs = []
    for n in range(1, 7):
        ticket = f"{day}-A{n:03d}"
        issued, called = start + timedelta(minutes=2 * n), start + timedelta(minutes=2 * n + 5)
        evs += [m.issued(ticket, "tianhe-general", issued), m.called(ticket, f"C0{n % 3 + 1}", called)]
        evs.append(m.no_show(ticket, called + timedelta(minutes=1)) if n == 4
                   else m.completed(ticket, called + timedelta(minutes=6)))
    evs.sort(key=lambda e: e["ts"])
    return sum(m.push(*evs[i:i + 4])["accepted"] for i in range(0, len(evs), 4))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", default="hall-tianhe")
    p.add_argument("--demo", action="store_true", help="send a morning's first tickets")
    p.add_argument("--start", help="the demo's opening time (ISO, default today 09:00 +08:00)")
    a = p.parse_args()
    url, token = os.environ.get("FLOORWATCH_URL"), os.environ.get("FLOORWATCH_TOKEN")
    if not url or not token:
        print("set FLOORWATCH_URL and FLOORWATCH_TOKEN (a token of the ingest role)", file=sys.stderr)
        return 2
    m = TicketMachine(a.site, Floorwatch(url, token))
    if a.demo:
        start = datetime.fromisoformat(a.start) if a.start else datetime.now(CST).replace(hour=9, minute=0, second=0, microsecond=0)
        print(f"sent {demo(m, start)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
