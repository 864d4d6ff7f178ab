"""``floorwatch up --replay --format anonbank``: the dashboard is given the workers' config files, so the
wall's what-if knows the bank's pool (its six queues answered by the same agents), as the workers do; and
since the bank's log has no agent states, the what-if says who is on duty is unknown instead of simulating
the pool with nobody on the phones.

Until this stop the dashboard read the floor's file only: the wall showed the pool's line (the workers'
advice) while its what-if for PS ran PS alone with no agents, every caller abandoning.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from tests.sources.test_anonbank import row, write_log
from tests.stack_helpers import HAVE_SERVERS, printed, start_up


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
        sup = printed(proc, "supervisor token", 30)
        assert sup, "no supervisor token printed"
        api = f"http://127.0.0.1:{hport}/api/whatif"
        got, said = None, "nothing"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                r = httpx.get(api, params={"site": "anonbank", "pool": "phones", "agents": "1"},
                              headers={"Authorization": f"Bearer {sup}"})
            except httpx.ConnectError:  # the dashboard is still starting
                r = None
            said = f"{r.status_code} {r.text[:200]}" if r is not None else "no dashboard"
            if r is not None and "agents on duty unknown" in r.text:
                got = r
                break
            time.sleep(1)  # 404 until the worker has folded a call of the pool and published its advice
        # The dashboard knows the pool (an unknown one is 404), and refuses to simulate nobody on the phones.
        assert got is not None and got.status_code == 409, f"no answer within 90 s: {said}"
        assert "site 'anonbank'" in got.json()["detail"]
        # A queue of the pool asks for the pool: the same answer.
        r = httpx.get(api, params={"site": "anonbank", "queue": "PS", "agents": "1"}, headers={"Authorization": f"Bearer {sup}"})
        assert r.status_code == 409 and r.json()["detail"] == got.json()["detail"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
