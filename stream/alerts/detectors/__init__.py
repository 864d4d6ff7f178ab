"""Online anomaly detectors built on river's statistics, one estimator per module.

* :mod:`.seasonal` — :class:`SeasonalCusum`: a value against its own time-of-day
  and day-of-week profile, evidence summed by a CUSUM (arrival surges).
* :mod:`.likelihood` — :class:`SeasonalLikelihood`: a value's miss of its
  calendar profile, judged against the series' own history of misses (any
  series: the ``floorwatch detect`` command, NAB).
* :mod:`.novelty` — :class:`WindowNovelty`: the latest downsampled window's
  distance to every earlier one (ARTime's idea, by nearest neighbour).
* :mod:`.tail` — :class:`TailRank`: a score's rarity among its own recent
  values (puts unlike scorers on one scale).
* :mod:`.ensemble` — :class:`EnsembleLikelihood`: the profile miss, the
  sustained miss and the novelty, each calibrated, the rarest speaking once
  per lasting anomaly (any series: ``floorwatch detect``, NAB).
* :mod:`.drift` — :class:`DriftCusum`: a mean of ``n`` items drifting from its
  slow baseline (handle time).
* :mod:`.rate` — :class:`RateSpike`: a proportion ``k / n`` rising above its
  baseline (the abandon rate; ``abandon_spike`` before it weighed the waits).
* :mod:`.patience` — :class:`PatienceDrop`: abandons the waits do not explain
  (callers hanging up sooner than usual for the wait they had; ``abandon_spike``).

All follow river's ``AnomalyDetector`` protocol (``score_one`` does not learn,
``learn_one`` does), give a score in [0, 1], say what they expected
(``explain_one``) and serialise to plain JSON (``to_dict`` / ``from_dict``).
"""

from stream.alerts.detectors.drift import DriftCusum
from stream.alerts.detectors.ensemble import EnsembleLikelihood
from stream.alerts.detectors.likelihood import SeasonalLikelihood
from stream.alerts.detectors.novelty import WindowNovelty
from stream.alerts.detectors.patience import PatienceDrop
from stream.alerts.detectors.rate import RateSpike
from stream.alerts.detectors.seasonal import SeasonalCusum
from stream.alerts.detectors.tail import TailRank

__all__ = ["SeasonalCusum", "SeasonalLikelihood", "WindowNovelty", "TailRank", "EnsembleLikelihood", "DriftCusum", "RateSpike", "PatienceDrop"]
