"""Alert delivery: AlertChanges from Redis to people, over SMS, pager, webhook and email.

The worker XADDs every AlertChange to ``fw:alerts:log`` (docs/redis.md); this
package reads that stream with a consumer group, routes each change to the
recipients its rule and severity call for (``config/delivery.yaml``), escalates
unacknowledged alerts up a ladder, and tells the people it paged when the alert
resolves. See docs/delivery.md for the guarantees.

Modules, one job each:

* ``config``   - load and validate ``config/delivery.yaml`` (``${ENV}`` references)
* ``privacy``  - masking of phone numbers, emails and secrets; the logging filter
* ``change``   - reading an AlertChange (the two shapes it comes in)
* ``render``   - message texts (zh-CN and English) from an AlertChange
* ``http``     - the shared HTTP POST with its transient/permanent error split
* ``channels`` - the wire formats: Twilio, Alibaba Cloud SMS, PagerDuty, webhook, SMTP, log
* ``retry``    - exponential backoff with jitter
* ``limits``   - per-recipient token bucket and quiet hours
* ``ledger``   - idempotency records, who-was-notified sets, the delivery log
* ``clock``    - the injectable wall clock
* ``service``  - consuming the stream, dispatching, escalation, acknowledgements
* ``cli``      - ``floorwatch deliver``
"""

from __future__ import annotations

__all__ = ["run_delivery"]


def __getattr__(name: str):  # lazy: importing the package must not pull aiohttp/redis
    if name == "run_delivery":
        from stream.delivery.service import run_delivery

        return run_delivery
    raise AttributeError(name)
