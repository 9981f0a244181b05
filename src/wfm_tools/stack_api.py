"""Airflow's REST API on the local stack (`make up`), as an operator's script uses it: a token for the stack's
admin, trigger the nightly DAG, wait for a run to end. Used by the end-to-end test and the benchmark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfm_tools.stack import Stack

DAG_ID = "wfm_nightly"
ENDED = {"success", "failed"}


def call(stack: Stack, path: str, body: dict | None = None, method: str | None = None, auth: bool = True) -> dict:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {token(stack)}"
    request = urllib.request.Request(
        f"{stack.url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method=method or ("POST" if body is not None else "GET"),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def token(stack: Stack) -> str:
    """A token for the stack's admin (Airflow's simple auth manager, the password `make up` generated)."""
    body = {"username": "admin", "password": stack.secrets()["admin_password"]}
    return call(stack, "/auth/token", body, auth=False)["access_token"]


def healthy(stack: Stack) -> bool:
    """Whether the API answers that the metadata DB, scheduler, triggerer and DAG processor are healthy."""
    try:
        state = call(stack, "/api/v2/monitor/health", auth=False)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return all(v.get("status") == "healthy" for v in state.values() if isinstance(v, dict))


def trigger(stack: Stack, note: str | None = None) -> str:
    """Trigger a run of the nightly DAG now; its run id."""
    return call(stack, f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "note": note})["dag_run_id"]


def runs(stack: Stack) -> list[dict]:
    return call(stack, f"/api/v2/dags/{DAG_ID}/dagRuns?order_by=-run_after&limit=50")["dag_runs"]


def run(stack: Stack, run_id: str) -> dict:
    return call(stack, f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}")


def task_instances(stack: Stack, run_id: str) -> list[dict]:
    quoted = urllib.parse.quote(run_id, safe="")
    return call(stack, f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances?limit=500")["task_instances"]


def wait(stack: Stack, run_id: str, timeout: float = 600.0, poll: float = 1.0) -> dict:
    """The run once it has ended (success or failed); SystemExit if it has not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = run(stack, run_id)
        except (urllib.error.URLError, OSError):  # the API server restarting: ask again
            found = {}
        if found.get("state") in ENDED:
            return found
        time.sleep(poll)
    raise SystemExit(f"run {run_id} of {DAG_ID} has not ended after {timeout:.0f} s")


def wait_idle(stack: Stack, timeout: float = 300.0, at_least: int = 0) -> None:
    """Until the nightly DAG has `at_least` runs and none is queued or running (`at_least=1` after the first
    `make up`: the catch-up run the scheduler creates a moment after the DAG is unpaused)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runs(stack)
        if len(found) >= at_least and not [r for r in found if r["state"] not in ENDED]:
            return
        time.sleep(1)
    raise SystemExit(f"{DAG_ID} still has a run going after {timeout:.0f} s")
