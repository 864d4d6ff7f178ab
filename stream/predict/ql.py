"""QL: the queue-length predictor of Ibrahim & Whitt (2009), a baseline for ``ewt``.

With ``s`` agents all busy, handle rate ``mu = 1/AHT`` each and ``n`` contacts
ahead, a new contact waits for ``n + 1`` service completions: ``(n + 1)/(s mu)``;
nothing when an agent is ready. It ignores abandonment and how long the contacts
ahead have waited.

>>> from stream.predict.view import QueueView
>>> v = QueueView(now=0, waiting=[(-5_000, 0)] * 3, serving=[(-60_000, -50_000)] * 4, agents=(0, 4, 0),
...               aht_s=240.0, answered_15m=0, answered_60m=0, abandoned_60m=0, answered_wait_60m_s=0.0)
>>> QL().predict(v, ahead=3)       # (3 + 1) / (4 / 240 s)
240.0
"""

from __future__ import annotations

from stream.predict.view import QueueView

__all__ = ["QL"]


class QL:
    """E[W | n ahead] = (n + 1) / (s mu)."""

    name = "QL"

    def predict(self, view: QueueView, ahead: int) -> float:
        """The predicted wait (s) of a contact with ``ahead`` contacts before it."""
        ready = view.ready()
        if ready is not None and ready > ahead:
            return 0.0
        if view.aht_s is None:
            return 0.0  # no handle time seen yet: nothing to scale by
        return (ahead + 1) * view.aht_s / view.servers()
