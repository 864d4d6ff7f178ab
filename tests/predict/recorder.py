"""A predictor that predicts nothing: it keeps what each arrival's view held (for the tests)."""

from __future__ import annotations

from stream.predict.view import QueueView


class Recorder:
    """Returns (ahead, agents ready or None, servers) for each arrival."""

    name = "seen"

    def predict(self, view: QueueView, ahead: int) -> tuple:
        return (ahead, view.ready(), view.servers())
