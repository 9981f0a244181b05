"""The processes of a local stack (`make up`): started in a session of their own, each with a pid file, stopped
by those pid files alone, so `make down` stops what `make up` started and nothing else.

A pid file holds the process id and the kernel's start time of that process (`/proc/<pid>/stat`): a pid the
system gave to another process since is not ours, and is left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process `pid` (clock ticks since boot), None when it does not exist or has
    ended (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name before ")" may hold spaces
    return None if fields[0] == "Z" else fields[19]  # a zombie has ended; field 22 is the start time


def start(name: str, argv: list[str], env: dict[str, str], pids: Path, logs: Path) -> int:
    """Start `argv` in a new session (its own process group: stopping it stops its children), output to
    `logs/<name>.log`, and record it in `pids/<name>.pid`. What is left of an earlier `name` whose leader
    died (a crashed scheduler's executor processes and tasks) is stopped first, as a crash of its host would
    have: they hold its database connections, and with them the locks of its last transaction."""
    pids.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    pid_file = pids / f"{name}.pid"
    if name in running(pids):
        stop(pids, [name], grace=0)
    with (logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    return proc.pid


def running(pids: Path) -> dict[str, int]:
    """The recorded process groups still alive (name → pid), whether their leader is or not; a pid file whose
    group is gone is removed. A group cannot be another's while one of its processes lives: its id is the
    leader's pid, which the kernel gives to no new process meanwhile."""
    found = {}
    for pid_file in sorted(pids.glob("*.pid")) if pids.is_dir() else []:
        try:
            pid_text, started = pid_file.read_text().split()
            pid = int(pid_text)
        except ValueError:
            pid_file.unlink()
            continue
        if _start_time(pid) == started or (_start_time(pid) is None and _group_alive(pid)):
            found[pid_file.stem] = pid
        else:
            pid_file.unlink()
    return found


def alive(pids: Path, name: str) -> bool:
    """Whether the leader of `name` itself runs (a group whose leader died needs it started again)."""
    pid = running(pids).get(name)
    return pid is not None and _start_time(pid) is not None


def stop(pids: Path, names: list[str] | None = None, grace: float = 20.0) -> list[str]:
    """SIGTERM to each recorded process group (`names`, default all), SIGKILL to what is left after `grace`
    seconds; returns the names stopped."""
    targets = {n: p for n, p in running(pids).items() if names is None or n in names}
    for pid in targets.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in targets.values()):
        time.sleep(0.2)
    for pid in targets.values():
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
    for pid in targets.values():  # reaped by init; wait until the kernel has let the group go
        for _ in range(50):
            if not _group_alive(pid):
                break
            time.sleep(0.1)
    for name in targets:
        (pids / f"{name}.pid").unlink(missing_ok=True)
    return list(targets)


def kill(pids: Path, name: str) -> int:
    """SIGKILL to a recorded process and everything it started: a crash of its host, as the recovery test
    makes one. Its pid file stays, for `start` to clear."""
    pid = running(pids)[name]
    _signal_group(pid, signal.SIGKILL)
    return pid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _group_alive(pgid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # a leader that is this process's own child: reap it if it ended
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
