"""The nightly job as plain functions: ingest every new file, build the indicators, gate them, publish.

`wfm run` calls `run_nightly`; the Airflow DAG calls the same stage functions task by task (mapped per file for
ingestion), so the command line, the scheduler and the tests run one code path.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wfm import gate
from wfm.config import Home
from wfm.errors import WfmError
from wfm.ingest import BatchOutcome, ingest_all, new_run_id, open_warehouse
from wfm.ingest.run import Echo, build_docs, quiet
from wfm.warehouse import MARTS_SCHEMA

if TYPE_CHECKING:
    from wfm.build import DbtWorker


@dataclass
class BuildReport:
    vintage: str
    seconds: float
    warnings: list[str] = field(default_factory=list)


def build_and_check(
    home: Home,
    run_id: str | None = None,
    echo: Echo = quiet,
    full_refresh: bool = False,
    worker: DbtWorker | None = None,
    unit_tests: bool = True,
    publish_next: bool = False,
) -> BuildReport:
    """dbt build, then the marts' expectation suite; raises WfmError if either fails (nothing is published).

    `worker`: the dbt process to build in (`wfm.build.DbtWorker`), else this one; `unit_tests`: see
    `wfm.build.build` (the nightly job, here and in the DAG, runs without them); `publish_next`: this process
    publishes after the build (`_prepare_next`). The marts' validation rebuilds the Data Docs, so they show
    every validation stored before it too."""
    from wfm.build import build

    run_id = run_id or new_run_id()
    ahead = None
    if worker is not None:  # this process only waits while the worker builds: it prepares what follows
        ahead = threading.Thread(target=_prepare_next, args=(home, publish_next), name="wfm-ahead", daemon=True)
        ahead.start()
    try:
        result = build(home.warehouse, run_id=run_id, full_refresh=full_refresh, worker=worker, unit_tests=unit_tests)
    finally:
        if ahead is not None:
            ahead.join()
    recomputed = "every period" if result.mode == "full" else _periods_text(result.periods, result.skipped)
    echo(f"built indicators (vintage {result.vintage}, {result.mode}: {recomputed}) in {result.elapsed:.1f} s")
    con = open_warehouse(home)
    try:
        checked = gate.validate_marts(con, schema=MARTS_SCHEMA, run_id=run_id, home=home)
    finally:
        con.close()
    if not checked.success:
        raise WfmError(
            "the built indicators fail the marts suite: " + ", ".join(checked.failed_critical), rule="marts_gate"
        )
    if checked.warnings:
        echo("marts warnings: " + ", ".join(checked.warnings))
    return BuildReport(str(result.vintage), result.elapsed, list(checked.warnings))


def _prepare_next(home: Home, publish_next: bool) -> None:
    """While the worker builds: register the marts' checkpoint and render the pending Data Docs pages
    (`wfm.gate.prepare_marts`), then, when this process publishes next, import the publisher (`wfm.publish`:
    Matplotlib, SciPy's optimiser), which would otherwise hold up the start of the night or its end. Only
    ahead of time: whatever fails here is done again, and reported, by the step it prepares."""
    with contextlib.suppress(Exception):
        gate.prepare_marts(home)
    if publish_next:
        with contextlib.suppress(Exception):
            importlib.import_module("wfm.publish")


def _periods_text(periods: dict[str, list[str]], skipped: list[str]) -> str:
    shown = [f"{source} {', '.join(values)}" for source, values in periods.items() if values]
    shown += [f"{source} unchanged" for source in skipped]
    return "; ".join(shown) if shown else "no new periods"


def run_nightly(
    home: Home, run_id: str | None = None, echo: Echo = quiet, worker: DbtWorker | None = None
) -> dict[str, float]:
    """The nightly job; returns (and reports) its own wall time per stage, which `make bench` reads.

    `worker`: the night's dbt process (`wfm.build.DbtWorker` on the home's warehouse), if the caller started it
    already; else the night starts one."""
    from wfm.build import DbtWorker

    started = time.perf_counter()
    # dbt is imported and the project parsed in a process of its own while the files are ingested; this
    # process imports Great Expectations meanwhile, for the gate
    worker = worker or DbtWorker(home.warehouse, behind=True)
    run_id = run_id or new_run_id()
    # the Data Docs are rebuilt once, by the marts' validation (or here when the night fails before it)
    try:
        outcomes = ingest_all(home, run_id=run_id, echo=echo, docs=False)
        ingested = time.perf_counter()
        if not home.warehouse.exists():  # a new home, and nothing delivered yet: a quiet night, not a failure
            worker.close()
            echo(f"nothing to do: no files in {home.inbox('survey')} or {home.inbox('enterprise')}, no warehouse yet")
            spent = ingested - started
            return {"ingest": spent, "gate": 0.0, "build": 0.0, "publish": 0.0, "total": spent}
        build_and_check(home, run_id=run_id, echo=echo, worker=worker, unit_tests=False, publish_next=True)
    except BaseException:
        worker.close()
        build_docs(home, quiet=True)
        raise
    built = time.perf_counter()
    try:
        from wfm.publish import publish  # imported while dbt built (_prepare_next)

        echo(f"published {publish(home, echo=echo)}")
    finally:
        worker.close()  # it wrote dbt's artifacts (run results, manifest) meanwhile
    done = time.perf_counter()
    # the sources are ingested side by side, so the files' own gate times can add up to more than the wall
    # time they took: the ingestion's wall time is split between ingest and gate in their proportion
    gate_share = _gate_share(outcomes)
    timings = {
        "ingest": (ingested - started) * (1 - gate_share),
        "gate": (ingested - started) * gate_share,
        "build": built - ingested,
        "publish": done - built,
        "total": done - started,
    }
    echo("stage timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


def _gate_share(outcomes: list[BatchOutcome]) -> float:
    """The gate's share of the files' summed step times (0 when no file was timed)."""
    spent = sum(sum(o.timings.values()) for o in outcomes)
    return sum(o.timings.get("gate", 0.0) for o in outcomes) / spent if spent else 0.0
