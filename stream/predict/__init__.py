"""The floor ahead: how long a contact arriving now, and each one waiting, will still wait.

``view`` reads a site's fold into one ``QueueView`` per queue (what is known at
that moment, nothing after it); ``ewt`` is floorwatch's predictor, ``ql`` and
``les`` the textbook baselines it is measured against (Ibrahim & Whitt 2009);
``replay`` makes the prediction at each offered contact of a log
(``floorwatch ewt``, ``bench ewt``). All pure: no I/O, no clock; event time only.
"""
