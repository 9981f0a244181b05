"""The home as an operator sees it: private to the service, and held by one command at a time."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import survey_rows, write_csv

from wfm import cli
from wfm.config import Home
from wfm.lock import HomeBusy, holding

HOLD = """
import sys, time
from pathlib import Path
from wfm.config import Home
from wfm.lock import holding
with holding(Home(Path(sys.argv[1])), "wfm run"):
    print("holding", flush=True)
    time.sleep(120)
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _holder(home: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    return process


def test_a_new_home_and_what_the_night_writes_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFM_UMASK", raising=False)
    root = tmp_path / "home"
    Home(root).inbox("survey").mkdir(parents=True, mode=0o755)  # made by the delivery system, open to all
    write_csv(Home(root).inbox("survey") / "w.csv", survey_rows(6))
    assert cli.main(["--home", str(root), "ingest"]) == 0
    assert _mode(root) == 0o700
    for folder in ("inbox", "inbox/survey", "archive", "rejected", "published", "gx"):
        assert _mode(root / folder) == 0o700, folder
    assert _mode(root / "warehouse.duckdb") == 0o600
    assert all(_mode(p) & 0o077 == 0 for p in (root / "gx").rglob("*"))


def test_a_service_group_may_be_let_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFM_UMASK", "027")
    home = Home(tmp_path / "home").ensure()
    assert _mode(home.root) == 0o750 and _mode(home.published) == 0o750


@pytest.mark.parametrize("mask", ["999", "700", "abc"])
def test_a_mask_that_locks_the_service_out_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mask: str
) -> None:
    monkeypatch.setenv("WFM_UMASK", mask)
    assert cli.main(["--home", str(tmp_path / "home"), "publish"]) == 1


def test_a_second_command_on_a_busy_home_says_who_holds_it_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    home = Home(tmp_path / "home").ensure()
    delivered = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    holder = _holder(home.root)
    try:
        for command in ("ingest", "run", "build", "publish"):
            assert cli.main(["--home", str(home.root), command]) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"pid {holder.pid} (wfm run" in err and "home_locked" in err
        assert delivered.exists() and not home.warehouse.exists()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_night_is_taken_over(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    holder = _holder(home.root)
    with pytest.raises(HomeBusy), holding(home, "test"):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            with holding(home, "test"):
                break
        except HomeBusy:
            assert time.monotonic() < deadline
            time.sleep(0.1)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1.5 MB file system of its own (tmpfs: the tests run as root, as CI does), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _delivered(home: Home, tmp_path: Path) -> Path:
    from wfm_synthetic import generate

    generate(tmp_path / "generated", scale="demo", seed=7, periods=1, formats=("csv",))
    wave = sorted((tmp_path / "generated" / "survey").glob("*.csv"))[0]
    home.inbox("survey").mkdir(parents=True, exist_ok=True)
    target = home.inbox("survey") / wave.name
    target.write_bytes(wave.read_bytes())
    return target


def test_a_full_disk_ends_in_one_line_and_loses_no_delivery(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    home = Home(small_disk / "home")
    delivered = _delivered(home, tmp_path)
    assert cli.main(["--home", str(home.root), "ingest"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert delivered.exists()  # still in the inbox, taken again once there is room


def test_a_read_only_home_ends_in_one_line(small_disk: Path, capsys: pytest.CaptureFixture) -> None:
    home = Home(small_disk / "home").ensure()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    for command in ("publish", "ingest"):
        assert cli.main(["--home", str(home.root), command]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Read-only file system" in err
