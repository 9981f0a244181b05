"""Build the indicator tables: one programmatic `dbt build` of `dbt_project/` against the warehouse file.

This is the step between the raw layer (filled by `wfm.ingest`) and publishing (`wfm.publish`): dbt turns the
promoted rows into staging views, intermediate tables and the marts `indicator_registry`, `indicator_values`
and `indicator_revisions` (plus dashboard marts), stamping every value with this build's vintage. dbt runs
offline (no package download, no version check, no usage statistics); its own log goes to
`dbt_project/logs/dbt.log`, and the caller gets a `BuildResult`, or a `WfmError` whose one-line message names
the nodes that failed. The caller guarantees that no other process writes the warehouse meanwhile.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfm.config import PROJECT_DIR
from wfm.errors import WfmError

DBT_DIR = PROJECT_DIR / "dbt_project"
TARGET_DIR = DBT_DIR / "target"
LOG_DIR = DBT_DIR / "logs"

#: Environment dbt runs in: the warehouse, and nothing that could reach the network.
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "DBT_USE_COLORS": "false",
}

_FAILED = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class BuildResult:
    """What one build did. `vintage` is the UTC time stamped on every value it wrote."""

    success: bool
    vintage: datetime
    models: int
    tests: int
    seeds: int
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    run_id: str | None = None


class BuildFailed(WfmError):
    """The dbt build failed; `result` holds the counts and every failure."""

    def __init__(self, message: str, result: BuildResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def build(
    warehouse: Path,
    *,
    run_id: str | None = None,
    full_refresh: bool = False,
    docs: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Run `dbt build` on `warehouse` and return what it did; raise `WfmError` if anything failed.

    `full_refresh` rebuilds incremental models (the revision history is protected and never rebuilt);
    `docs` also runs `dbt docs generate` into `dbt_project/target`; `progress` receives one short line per
    finished node.
    """
    from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import and only the build needs it

    warehouse = Path(warehouse).resolve()
    if not warehouse.is_file():
        raise WfmError(f"build failed: warehouse {warehouse} does not exist (run `wfm ingest` first)")
    vintage = datetime.now(UTC).replace(tzinfo=None)
    args = [
        "build",
        *_common_args(),
        "--vars",
        f"{{vintage: '{vintage.isoformat(sep=' ')}'}}",
    ]
    if full_refresh:
        args.append("--full-refresh")

    started = time.monotonic()
    runner = dbtRunner(callbacks=[_progress_callback(progress)] if progress else [])
    with _environment(warehouse):
        outcome = runner.invoke(args)
    elapsed = time.monotonic() - started
    result = _summarise(outcome, vintage, elapsed, run_id)
    if not result.success:
        raise BuildFailed(_failure_message(result), result)
    if docs:
        with _environment(warehouse):
            generated = dbtRunner().invoke(["docs", "generate", *_common_args()])
        if not generated.success:
            raise WfmError(f"dbt docs generate failed: {_first_line(generated.exception)} (see {LOG_DIR})")
    return result


def _common_args() -> list[str]:
    return [
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(TARGET_DIR),
        "--log-path",
        str(LOG_DIR),
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]


@contextmanager
def _environment(warehouse: Path) -> Iterator[None]:
    """Set dbt's environment for the duration of one invocation, and put the caller's back afterwards."""
    wanted = {"WFM_WAREHOUSE": str(warehouse), **_OFFLINE_ENV}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        _release_warehouse()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    dbt-duckdb caches its environment (and so the database instance) in a class attribute; left open, the
    caller could not open the warehouse again in this process with another configuration (read-only, say),
    and the file would stay locked against other processes until exit.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def _summarise(outcome: Any, vintage: datetime, elapsed: float, run_id: str | None) -> BuildResult:
    counts = {"model": 0, "test": 0, "seed": 0}
    failures: list[str] = []
    results = getattr(outcome.result, "results", None) or []
    for node_result in results:
        node = node_result.node
        status = str(node_result.status)
        kind = "test" if node.resource_type in ("test", "unit_test") else str(node.resource_type)
        if status in _FAILED:
            failures.append(f"{node.name}: {_first_line(node_result.message)}")
        elif kind in counts and status in {"success", "pass", "warn"}:
            counts[kind] += 1
    if not outcome.success and not failures:
        failures.append(f"dbt: {_first_line(outcome.exception) or 'failed without a message'}")
    return BuildResult(
        success=bool(outcome.success) and not failures,
        vintage=vintage,
        models=counts["model"],
        tests=counts["test"],
        seeds=counts["seed"],
        failures=failures,
        elapsed=round(elapsed, 3),
        run_id=run_id,
    )


def _failure_message(result: BuildResult) -> str:
    """One line: the failed nodes, then each distinct reason once."""
    names = [failure.split(": ", 1)[0] for failure in result.failures]
    reasons = list(dict.fromkeys(failure.split(": ", 1)[-1] for failure in result.failures))
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    why = "; ".join(reason[:200] for reason in reasons[:2])
    return f"build failed in {shown}: {why} (details in {LOG_DIR / 'dbt.log'})"


_ERROR_PREFIX = re.compile(r"^\w+ Error in \w+ \S+ \([^)]*\)\s*")


def _first_line(value: object) -> str:
    """A dbt message on one line, without the 'Runtime Error in test x (path)' preamble that repeats the node."""
    text = " ".join(str(value or "").split())
    return _ERROR_PREFIX.sub("", text)[:300]


def _progress_callback(progress: Callable[[str], None]) -> Callable[[Any], None]:
    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info = event.data.node_info
        progress(f"{info.node_status:<8} {info.resource_type} {info.node_name}")

    return on_event
