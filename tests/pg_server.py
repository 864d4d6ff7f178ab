"""A throwaway PostgreSQL cluster for tests (Debian's postgresql package, no mocks).

``PgCluster`` runs initdb into a temporary directory and pg_ctl on a free
loopback port; ``stop``/``start`` let a test take the database away mid-run.
As root the binaries run as the ``postgres`` user (initdb refuses root).
Tests skip, saying why, where the binaries are absent (``.ci/run`` installs
the package when it may).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from stream.local.embedded import free_port


def pg_bin() -> Optional[Path]:
    """The newest installed PostgreSQL's bin directory, or None."""
    env = os.environ.get("FLOORWATCH_PG_BIN")
    cands = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[::-1]
    for c in cands:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


class PgCluster:
    def __init__(self) -> None:
        b = pg_bin()
        if b is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.bin = b
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="fw-pg-"))
        self.data = self.dir / "data"
        self.user: Optional[str] = None
        if os.geteuid() == 0:
            self.user = "postgres"
            shutil.chown(self.dir, user="postgres")
        self._run("initdb", "-D", str(self.data), "-U", "floorwatch", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "floorwatch", "history")

    @property
    def url(self) -> str:
        return f"postgresql://floorwatch@127.0.0.1:{self.port}/history"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            self.stop("immediate")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self, name: str) -> str:
        """A fresh, empty database on this cluster; its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "floorwatch", name)
        return f"postgresql://floorwatch@127.0.0.1:{self.port}/{name}"
