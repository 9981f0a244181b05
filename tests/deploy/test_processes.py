"""`make down` stops what `make up` started and nothing else: the stack's process groups, found by their pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from wfm_tools import processes

#: a leader that starts a child of its own, as the scheduler starts its executor's processes
FAMILY = [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait_for_child(pid: int) -> int:
    for _ in range(100):
        if kids := _children(pid):
            return kids[0]
        time.sleep(0.05)
    raise AssertionError("the leader started no child")


def test_stop_ends_each_recorded_group_and_leaves_other_processes_alone(tmp_path: Path) -> None:
    pids, logs = tmp_path / "pids", tmp_path / "logs"
    leader = processes.start("scheduler", FAMILY, dict(os.environ), pids, logs)
    child = _wait_for_child(leader)
    bystander = subprocess.Popen(["sleep", "60"])  # not started by the stack: never touched
    try:
        assert processes.running(pids) == {"scheduler": leader} and processes.alive(pids, "scheduler")
        assert processes.stop(pids, grace=5) == ["scheduler"]
        assert not Path(f"/proc/{leader}").exists() or processes._start_time(leader) is None
        assert not Path(f"/proc/{child}").exists() and processes.running(pids) == {}
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_crashed_leaders_group_is_stopped_before_it_is_started_again(tmp_path: Path) -> None:
    """A killed scheduler's executor processes still hold its database connection: restarting it ends them."""
    pids, logs = tmp_path / "pids", tmp_path / "logs"
    leader = processes.start("scheduler", FAMILY, dict(os.environ), pids, logs)
    child = _wait_for_child(leader)
    os.kill(leader, signal.SIGKILL)  # the leader alone: its child lives on in the group
    for _ in range(100):
        if processes._start_time(leader) is None:
            break
        time.sleep(0.05)
    assert "scheduler" in processes.running(pids) and not processes.alive(pids, "scheduler")
    again = processes.start("scheduler", FAMILY, dict(os.environ), pids, logs)
    try:
        assert not Path(f"/proc/{child}").exists() or processes._start_time(child) is None
        assert processes.running(pids) == {"scheduler": again}
    finally:
        processes.stop(pids, grace=5)
    assert processes.running(pids) == {}


def test_a_pid_file_whose_process_is_gone_or_another_is_forgotten_not_signalled(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    other = subprocess.Popen(["sleep", "60"])  # the pid a recycled number would point at
    try:
        (pids / "api-server.pid").write_text(f"{other.pid} 1\n")  # another start time: not ours
        assert processes.running(pids) == {} and not (pids / "api-server.pid").exists()
        assert processes.stop(pids) == [] and other.poll() is None
    finally:
        other.kill()
        other.wait()
