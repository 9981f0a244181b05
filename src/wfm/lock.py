"""One night at a time: the lock every command that writes a home takes before touching it.

`wfm run`, `wfm ingest`, `wfm build` and `wfm publish` (and the DAG's tasks that write) hold an exclusive lock on
`<home>/.wfm.lock` while they work. A second command on the same home does nothing and says in one line which
process holds the home. The lock is the kernel's (flock): it dies with its process, so a lock left by a killed
night is taken over by the next one without anybody cleaning up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sys
from collections.abc import Iterator

from wfm.config import Home
from wfm.errors import WfmError

LOCK_FILE = ".wfm.lock"


class HomeBusy(WfmError):
    """Another process holds the home."""


@contextlib.contextmanager
def holding(home: Home, command: str) -> Iterator[None]:
    """Hold `home` for `command` (a few words naming what runs, shown to whoever finds the home busy)."""
    path = home.root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            raise HomeBusy(
                f"the home is in use by {holder}; nothing was done", file=str(home.root), rule="home_locked"
            ) from None
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command}, since {started})\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def command_line() -> str:
    """The running command as a holder's description: `wfm run`, say (no arguments: they may name files)."""
    words = [os.path.basename(sys.argv[0])] + [a for a in sys.argv[1:2] if not a.startswith("-")]
    return " ".join(words)
