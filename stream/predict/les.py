"""LES: the last-to-enter-service predictor of Ibrahim & Whitt (2009), a baseline for ``ewt``.

A new contact is predicted to wait what the last contact to enter service
waited (here: the last among those still being handled; 0 when none is).
What the floor's IVRs commonly announce: it needs no agent count nor handle
time, and lags a changing floor.

>>> from stream.predict.view import QueueView
>>> v = QueueView(now=0, waiting=[], serving=[(-90_000, -60_000), (-50_000, -20_000)], agents=None,
...               aht_s=None, answered_15m=0, answered_60m=0, abandoned_60m=0, answered_wait_60m_s=0.0)
>>> LES().predict(v, ahead=0)
30.0
"""

from __future__ import annotations

from stream.predict.view import QueueView

__all__ = ["LES"]


class LES:
    """E[W] = the wait of the last contact to enter service."""

    name = "LES"

    def predict(self, view: QueueView, ahead: int) -> float:
        """The predicted wait (s); ``ahead`` is not used (LES does not look at the queue)."""
        w = view.last_started_wait_s()
        return 0.0 if w is None else w
