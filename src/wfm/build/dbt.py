"""Build the indicator tables: one programmatic `dbt build` of `dbt_project/` against the warehouse file.

This is the step between the raw layer (filled by `wfm.ingest`) and publishing (`wfm.publish`): dbt turns the
promoted rows into staging views, intermediate tables and the marts `indicator_registry`, `indicator_values`
and `indicator_revisions` (plus dashboard marts), stamping every value with this build's vintage. dbt runs
offline (no package download, no version check, no usage statistics); its warnings and errors go to
`dbt/logs/dbt.log` and every node's status and timing to `dbt/target/run_results.json` in the warehouse's home
(`dbt_paths`), and the caller gets a `BuildResult`, or a `WfmError` whose one-line message names the nodes that
failed. The caller guarantees that no other process writes the warehouse meanwhile.
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
from typing import TYPE_CHECKING, Any

import duckdb

from wfm.build.planning import BuildPlan, plan, record
from wfm.build.project import DBT_DIR, dbt_log, dbt_paths, makes_relation
from wfm.errors import WfmError
from wfm.warehouse import connect, ensure_build_tables

if TYPE_CHECKING:
    from wfm.build.worker import DbtWorker

#: Environment dbt runs in: the warehouse, and nothing that could reach the network.
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "DBT_USE_COLORS": "false",
}

#: Constant: dbt parses the whole project again whenever the vars change.
VARS = ["--vars", "{wfm_incremental: true}"]

_FAILED = {"error", "fail", "runtime error"}
#: the kinds of dbt node that make a table or view in the warehouse (see `makes_relation`)
_MADE = ("model", "seed", "snapshot")


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
    #: "full" (every period, every table rebuilt) or "incremental" (only `periods` recomputed)
    mode: str = "full"
    #: source → the periods an incremental build recomputed
    periods: dict[str, list[str]] = field(default_factory=dict)
    #: sources whose models the build left out: nothing new, no status that could change
    skipped: list[str] = field(default_factory=list)


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
    worker: DbtWorker | None = None,
    unit_tests: bool = True,
) -> BuildResult:
    """Run `dbt build` on `warehouse` and return what it did; raise `WfmError` if anything failed.

    Incremental by period: the heavy intermediate tables (per respondent, per PSU, per enterprise) recompute
    only the periods of batches promoted since the last successful build (`plan`); the small tables after
    them (estimates with their statuses, disclosure, the marts) are rebuilt whole, since the provisional status
    moves with the vintage. The first build, a change to the project (`FINGERPRINTED`) or `full_refresh`
    rebuild everything (the revision history is protected and never rebuilt). `docs` also runs
    `dbt docs generate` into the home's `dbt/target` (`dbt_paths`); `progress` receives one short line per
    finished node.
    `worker` (started on this warehouse) runs the build instead of this process, with the project it parsed
    while the caller did other work; it then writes dbt's artifacts, and the caller closes it (`DbtWorker.close`
    waits for them). `unit_tests=False` leaves dbt's unit tests out of
    a full build too (an incremental one never runs them): they test the SQL against fixtures, not the data,
    and `make test` runs them with every full build of its own; the nightly job leaves them to it, as dbt's
    documentation advises for production runs (they would sit on the build's critical path).
    """
    warehouse = Path(warehouse).resolve()
    if not warehouse.is_file():
        raise WfmError(f"build failed: warehouse {warehouse} does not exist (run `wfm ingest` first)")
    vintage = datetime.now(UTC).replace(tzinfo=None)
    con = connect(warehouse)
    try:
        ensure_build_tables(con)
        build_plan = plan(con, full_refresh=full_refresh, vintage=vintage)
    except duckdb.CatalogException as missing:  # a warehouse without its raw tables
        raise WfmError(f"build failed: {' '.join(str(missing).split())[:300]}") from None
    finally:
        con.close()
    args = ["build", *common_args(warehouse), *VARS]
    if build_plan.full:
        args.append("--full-refresh")
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
    else:
        # seeds, the tests of seeds alone and unit tests change only with the project, and a changed project
        # makes the build full: the last successful build loaded and passed them with these very files.
        # (Cautious: a test of a model against a seed still runs.) The views are left out too: their SQL comes
        # from the project and the registry seed alone, and the last full build created them; recreating them
        # would put dbt's compiling of them on the night's critical path (the enterprise chain).
        # So are the tests tagged project_only (dbt_project.yml): their outcome does not depend on the data
        # (accepted_values of codes the SQL writes itself, not_null of a coalesce).
        args += ["--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"]
        excluded = ["resource_type:seed", "config.materialized:view", "tag:project_only"]
        excluded += [f"tag:{source}" for source in build_plan.skipped]  # their tables stay as the last build left them
        args += ["--exclude", *excluded]

    started = time.monotonic()
    stamp = vintage.isoformat(sep=" ")
    if worker is not None and worker.warehouse == warehouse and progress is None:
        outcome = worker.invoke(args, vintage=stamp)
    else:
        if worker is not None:
            worker.close()
        from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import and only the build needs it

        runner = dbtRunner(callbacks=[_progress_callback(progress)] if progress else [])
        with environment(warehouse, vintage=stamp):
            outcome = Outcome.of(runner.invoke(args))
    elapsed = time.monotonic() - started
    result = _summarise(outcome, vintage, elapsed, run_id, build_plan)
    record(warehouse, build_plan, result, outcome.made)
    if not result.success:
        raise BuildFailed(_failure_message(result, dbt_log(warehouse)), result)
    if docs:
        if worker is not None:  # its manifest.json must be written before dbt writes it again here
            worker.close()
        from dbt.cli.main import dbtRunner

        with environment(warehouse):
            generated = dbtRunner().invoke(["docs", "generate", *common_args(warehouse)])
        if not generated.success:
            raise WfmError(f"dbt docs generate failed: {first_line(generated.exception)} (see {dbt_log(warehouse)})")
    return result


def parse_ahead(warehouse: Path) -> bool:
    """`dbt parse` of the project for `warehouse`, leaving its partial parse in the home's `target/` for the
    build, which then starts from it: what the nightly DAG runs beside the files' preparation, at a lower
    priority than theirs (`wfm.build.worker.behind`), as the build needs it only once they are promoted: on a
    thread of its own, so that the caller's priority stays as it was. It reads the project's files, never the
    warehouse. Whether it parsed: a project that does not parse is parsed again, and reported, by the build."""
    from wfm.build.worker import run_behind

    def parse() -> bool:
        from dbt.cli.main import dbtRunner

        with environment(warehouse):
            return bool(dbtRunner().invoke(["parse", *common_args(warehouse), *VARS]).success)

    return run_behind(parse)


def common_args(warehouse: Path) -> list[str]:
    target, logs = dbt_paths(warehouse)
    return [
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(logs),
        "--log-level",
        "none",
        # the log file keeps warnings and errors (a failure's node and reason); every node's status and timing
        # are in the run results (target/run_results.json). At the info level, dbt would format and write
        # several events for every node, a cost every build pays for lines nobody reads
        "--log-level-file",
        "warn",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]


@contextmanager
def environment(warehouse: Path, vintage: str = "") -> Iterator[None]:
    """Set dbt's environment for the duration of one invocation, and put the caller's back afterwards."""
    wanted = {"WFM_WAREHOUSE": str(warehouse), "WFM_VINTAGE": vintage, **_OFFLINE_ENV}
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


@dataclass(frozen=True)
class Outcome:
    """What a build needs of a dbt invocation's result; plain values, so that a worker process can send it."""

    success: bool
    error: str  # the invocation's exception on one line ('' without one)
    nodes: tuple[tuple[str, str, str, str], ...] = ()  # (name, kind, status, message) per node run
    #: (schema, name) of every table and view the project makes, from a worker's manifest (None in-process:
    #: `leftover_relations` reads dbt's manifest.json then)
    made: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(cls, result: Any, manifest: Any = None) -> Outcome:
        nodes = []
        for node_result in getattr(result.result, "results", None) or []:
            node = node_result.node
            kind = "test" if node.resource_type in ("test", "unit_test") else str(node.resource_type)
            nodes.append((node.name, kind, str(node_result.status), first_line(node_result.message)))
        made = None
        if manifest is not None:
            made = frozenset(
                (node.schema, node.alias or node.name)
                for node in manifest.nodes.values()
                if makes_relation(node.resource_type, node.config.materialized)
            )
        return cls(bool(result.success), first_line(result.exception), tuple(nodes), made)


def _summarise(
    outcome: Outcome, vintage: datetime, elapsed: float, run_id: str | None, build_plan: BuildPlan
) -> BuildResult:
    counts = {"model": 0, "test": 0, "seed": 0}
    failures: list[str] = []
    for name, kind, status, message in outcome.nodes:
        if status in _FAILED:
            failures.append(f"{name}: {message}")
        elif kind in counts and status in {"success", "pass", "warn"}:
            counts[kind] += 1
    if not outcome.success and not failures:
        failures.append(f"dbt: {outcome.error or 'failed without a message'}")
    return BuildResult(
        success=bool(outcome.success) and not failures,
        vintage=vintage,
        models=counts["model"],
        tests=counts["test"],
        seeds=counts["seed"],
        failures=failures,
        elapsed=round(elapsed, 3),
        run_id=run_id,
        mode="full" if build_plan.full else "incremental",
        periods={} if build_plan.full else build_plan.periods,
        skipped=list(build_plan.skipped),
    )


def _failure_message(result: BuildResult, log: Path) -> str:
    """One line: the failed nodes, then each distinct reason once."""
    names = [failure.split(": ", 1)[0] for failure in result.failures]
    reasons = list(dict.fromkeys(failure.split(": ", 1)[-1] for failure in result.failures))
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    why = "; ".join(reason[:200] for reason in reasons[:2])
    return f"build failed in {shown}: {why} (details in {log})"


_ERROR_PREFIX = re.compile(r"^\w+ Error in \w+ \S+ \([^)]*\)\s*")


def first_line(value: object) -> str:
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
