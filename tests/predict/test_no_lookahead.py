"""No prediction uses what came after its moment: shuffling the future leaves every earlier prediction as it was."""

from __future__ import annotations

import random

import pytest

from simulators import busy_day
from stream.contracts import events as E
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.predict.ewt import EWT
from stream.predict.les import LES
from stream.predict.ql import QL
from stream.predict.replay import predict_replay


@pytest.fixture(scope="module")
def day() -> list:
    return list(busy_day.generate(load_config(), seed=4, calls=1500))


def _predicted(events: list) -> list[tuple]:
    recs = predict_replay(events, Floor(load_config()), [EWT(), QL(), LES()])
    return [(r["id"], r["at"], tuple(r["predicted"]["EWT"]), r["predicted"]["QL"], r["predicted"]["LES"]) for r in recs]


def test_shuffling_the_future_after_an_arrival_changes_no_prediction_up_to_it(day):
    whole = _predicted(day)
    arrivals = [i for i, ev in enumerate(day) if isinstance(ev, (E.CallOffered, E.TicketIssued))]
    rng = random.Random(16)
    busy = [p for p in whole if p[2][0] > 0]
    assert len(busy) > 100  # the day has queues: the predictions say something
    for cut in sorted(rng.sample(arrivals[len(arrivals) // 10:], 6)):
        tail = day[cut + 1:]
        rng.shuffle(tail)
        got = _predicted(day[: cut + 1] + tail)
        upto = sum(1 for i in arrivals if i <= cut)
        assert got[:upto] == whole[:upto], cut
        # The shuffled future does change what comes after (the test can tell).
        assert got[upto:] != whole[upto:]
