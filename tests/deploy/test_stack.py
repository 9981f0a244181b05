"""The production topology, run for real: `make up` (PostgreSQL, Airflow's scheduler and friends, Celery workers
on Redis for `EXECUTOR=celery`), a night triggered through the REST API as an operator would, the scheduler
killed in the middle of it and started again, the night finished and published, `make down` leaving nothing.

Slow (a few minutes per executor): each starts the whole stack on its own ports' defaults (`make up`), so no
other stack of this checkout may run meanwhile."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import assert_demo_night

from wfm.config import Home
from wfm_tools import processes, stack_api
from wfm_tools.stack import Stack

ROOT = Path(__file__).resolve().parents[2]


def make(target: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", target, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def listening_ports() -> set[int]:
    """The TCP ports something listens on now (from /proc: no tool needed)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def loaded_batches(home: Home) -> list[tuple[str, str]]:
    """(batch, source) of every file the warehouse logs as loaded."""
    import duckdb

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("SELECT file_sha256, source FROM audit.load_log WHERE outcome = 'loaded'").fetchall()
    finally:
        con.close()


def _running_task(stack: Stack, run_id: str, timeout: float = 180.0) -> str:
    """Wait until a task of the run is running; its id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [t["task_id"] for t in stack_api.task_instances(stack, run_id) if t["state"] == "running"]
        if running and running[0] != "list_new_files":
            return running[0]
        time.sleep(0.5)
    raise AssertionError(f"no task of {run_id} ran within {timeout:.0f} s")


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("executor", ["local", "celery"])
def test_a_night_under_the_real_scheduler_survives_a_killed_scheduler(executor: str) -> None:
    from wfm_tools.demo import prepare_inbox

    root = Path(tempfile.mkdtemp(prefix="wfm-stack-"))  # not under pytest's private tmp: PostgreSQL's user enters it
    root.chmod(0o711)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WFM_"))},
        "WFM_STACK": str(root / "stack"),
        "WFM_HOME": str(root / "home"),
        "WFM_SETTLE_SECONDS": "0",
        # a task whose process died with the scheduler is found by its missing heartbeat: after a minute here
        # rather than Airflow's five, so the test's night recovers sooner (`make up` passes AIRFLOW__* on)
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
    }
    stack = Stack(root / "stack", executor)
    home = Home(root / "home")
    ports = {stack.pg_port, stack.api_port, stack.redis_port}
    try:
        shown = make("up", env, f"EXECUTOR={executor}")
        assert f"{stack.url}" in shown and "login: admin / " in shown
        assert (stack.root / "env").stat().st_mode & 0o077 == 0  # it holds the stack's secrets
        # unpaused, the DAG runs the latest scheduled night at once: on an empty home, a quiet night
        stack_api.wait_idle(stack, at_least=1)
        assert all(r["state"] == "success" for r in stack_api.runs(stack))

        files = prepare_inbox(home)
        run_id = stack_api.trigger(stack, note="end-to-end test")
        running = _running_task(stack, run_id)
        processes.kill(stack.pids, "scheduler")  # a crash: SIGKILL to it, its executor and the tasks it ran
        assert "started: scheduler" in make("up", env, f"EXECUTOR={executor}")
        ended = stack_api.wait(stack, run_id, timeout=600)
        assert ended["state"] == "success", (running, stack_api.task_instances(stack, run_id))

        tasks = stack_api.task_instances(stack, run_id)
        prepared = {t["rendered_map_index"]: t["state"] for t in tasks if t["task_id"] == "prepare"}
        assert len(prepared) == files  # each mapped task is named after its file
        assert "skipped" in prepared.values() and "success" in prepared.values()  # refused whole: skipped
        quoted = stack_api.urllib.parse.quote(run_id, safe="")
        summary = stack_api.call(
            stack, f"/api/v2/dags/wfm_nightly/dagRuns/{quoted}/taskInstances/promote/xcomEntries/return_value"
        )["value"]
        outcomes = assert_demo_night(home, files)
        assert summary["loaded"] == outcomes["loaded"] and len(summary["refused"]) == outcomes["rejected"]
        # an asset event per loaded batch, of its raw table (none for a refused file), and one of the publication
        events = stack_api.call(
            stack, f"/api/v2/assets/events?source_dag_id=wfm_nightly&source_run_id={quoted}&limit=100"
        )["asset_events"]
        raw = {"survey": "wfm://warehouse/raw/survey_responses", "enterprise": "wfm://warehouse/raw/enterprise_returns"}
        assert sorted((e["extra"]["batch"], e["uri"]) for e in events if e["source_task_id"] == "promote") == sorted(
            (sha, raw[source]) for sha, source in loaded_batches(home)
        )
        assert [e["uri"] for e in events if e["source_task_id"] == "publish"] == ["wfm://published/marts"]
        # the stack's own ports, and none of Airflow's log servers (8793, 8794 or the stack's)
        ports = {stack.pg_port, stack.api_port, stack.redis_port, 8793, 8794, *stack.log_ports}
        assert listening_ports() & ports <= {stack.pg_port, stack.api_port, stack.redis_port}
    finally:
        pids = list(processes.running(stack.pids).values())
        make("down", env)
    assert processes.running(stack.pids) == {} and not stack.postgres.running()
    assert not any(Path(f"/proc/{p}").exists() for p in pids) and not listening_ports() & ports
    shutil.rmtree(root)
