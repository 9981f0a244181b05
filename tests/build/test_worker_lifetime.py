"""The dbt worker ends with the night that started it: a night killed mid-build leaves no process holding the
warehouse's write lock against the next night."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NIGHT = """
import sys, time
from pathlib import Path
from wfm.build import DbtWorker
worker = DbtWorker(Path(sys.argv[1]))
print(worker._process.pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:  # a zombie has ended; only its parent reaps it
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_night_killed_while_its_worker_runs_takes_the_worker_with_it(tmp_path: Path) -> None:
    night = subprocess.Popen(
        [sys.executable, "-c", NIGHT, str(tmp_path / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True
    )
    assert night.stdout is not None
    worker = int(night.stdout.readline())
    assert _alive(worker)
    os.kill(night.pid, signal.SIGKILL)
    night.wait()
    deadline = time.monotonic() + 3  # at once: without waiting for the worker to finish what it does
    while _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived its night"
        time.sleep(0.1)
