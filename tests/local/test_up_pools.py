"""``floorwatch up --replay --format anonbank``: the dashboard is given the workers' config files, so the
wall's what-if knows the bank's pool (its six queues answered by the same agents), as the workers do.

Until this stop the dashboard read the floor's file only: the wall showed the pool's line (the workers'
advice) while its what-if for PS ran PS alone, as if its agents took no other queue's calls.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from tests.sources.test_anonbank import row, write_log
from tests.stack_helpers import HAVE_SERVERS, start_up


def _hms(s: int) -> str:
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _rows(n: int = 400) -> list[str]:
    """A morning of the bank: a call every 20 s from 08:00, PS and NE in turn, 30 s in queue, 200 s served."""
    out = []
    for i in range(n):
        t = 8 * 3600 + 20 * i
        out.append(row(call_id=str(5000 + i), customer_id=str(1000 + i), type="PS" if i % 2 else "NE",
                       vru_entry=_hms(t), vru_exit=_hms(t + 5), vru_time="5", q_start=_hms(t + 5), q_exit=_hms(t + 35),
                       q_time="30", ser_start=_hms(t + 35), ser_exit=_hms(t + 235), ser_time="200",
                       server=("DORIT", "AVI", "SHARON", "MORIAH")[i % 4]))
    return out


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_the_walls_what_if_of_a_bank_queue_is_its_pools(tmp_path):
    log = write_log(tmp_path, *_rows())
    proc, url, _kport, _rport = start_up(tmp_path, "--replay", str(log), "--format", "anonbank", "--speed", "300")
    try:
        hport = int(url.split(":")[2].split("/")[0])
        sup = None
        deadline = time.monotonic() + 30
        while sup is None and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if "supervisor token" in line:
                sup = line.rsplit(" ", 1)[1].strip()
        assert sup, "no supervisor token printed"
        api = f"http://127.0.0.1:{hport}/api/whatif"
        got, said = None, "nothing"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                r = httpx.get(api, params={"site": "anonbank", "queue": "PS", "agents": "1"},
                              headers={"Authorization": f"Bearer {sup}"})
            except httpx.ConnectError:  # the dashboard is still starting
                r = None
            if r is not None and r.status_code == 200:
                got = r.json()
                break
            said = f"{r.status_code} {r.text[:200]}" if r is not None else "no dashboard"
            time.sleep(1)  # 404 until the worker has folded PS's first call, 409 until one is handled
        assert got is not None, f"no what-if within 90 s: {said}"
        assert got["pool"] == "phones" and got["queue"] == "PS"
        assert {"PS", "NE"} <= set(got["queues"])
        assert set(got["with"]["queues"]) == set(got["queues"])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
