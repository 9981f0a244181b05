"""The nightly job as plain functions: ingest every new file, build the indicators, gate them, publish.

`wfm run` calls `run_nightly`; the Airflow DAG calls the same stage functions task by task (mapped per file for
ingestion), so the command line, the scheduler and the tests run one code path.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from wfm import pseudonym, warmup
from wfm.config import Home
from wfm.errors import WfmError
from wfm.ingest import BatchOutcome, ingest_file, new_files, new_run_id, open_warehouse
from wfm.normalize import Nfkc
from wfm.schema import Source

if TYPE_CHECKING:
    from wfm.build import DbtWorker

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def ingest_all(
    home: Home,
    files: list[tuple[Source, Path]] | None = None,
    run_id: str | None = None,
    echo: Echo = _quiet,
    docs: bool = True,
) -> list[BatchOutcome]:
    """Each file as its own batch; a bad file never stops the good ones. One line per file through `echo`, as
    each file is done; the outcomes are returned in the order of `files`.

    The Data Docs are rebuilt once at the end (`docs`), not after every batch: rendering them costs more than
    a batch's validation. `docs=False` leaves that to the caller. Each file is one transaction
    (`wfm.ingest.ingest_file` with a connection), and the two sources are ingested side by side
    (`_ingest_side_by_side`)."""
    run_id = run_id or new_run_id()
    todo = files if files is not None else new_files(home)
    for _, path in todo:
        if not path.is_file():
            raise WfmError("no such file", file=str(path), rule="usage")
    if todo:  # every file is pseudonymised with it: a missing key stops the night before any file is read
        pseudonym.secret_key()
    outcomes: dict[int, BatchOutcome] = {}
    failed = True
    try:
        if todo:
            con = open_warehouse(home)
            try:
                with Nfkc(con):  # for every file and connection of the run: see ingest_file
                    _ingest_side_by_side(home, con, todo, run_id, echo, outcomes)
            finally:
                con.close()
        failed = False
    finally:
        if docs and any("gate" in o.timings for o in outcomes.values()):
            _build_docs(home, quiet=failed)
    return [outcomes[i] for i in sorted(outcomes)]


def _ingest_side_by_side(
    home: Home,
    con: duckdb.DuckDBPyConnection,
    todo: list[tuple[Source, Path]],
    run_id: str,
    echo: Echo,
    outcomes: dict[int, BatchOutcome],
) -> None:
    """Each source's files in order on a thread of its own, with a connection of its own (`con.cursor()`);
    `outcomes[i]` is the outcome of `todo[i]`.

    A file's rows are checked for duplicates against its source's earlier files, so a source's files go one
    after the other; the two sources share nothing but the audit tables, to which both only append. Side by
    side, one source's single-threaded stretches (Great Expectations' validation in Python, the small files'
    one-row-group scans, commits) leave the machine's second core to the other's DuckDB queries: the national
    night's ingestion 20.9 → 20.1 s (medians of three alternated pairs), for a peak memory of 3.0 GiB instead
    of 2.2 (the two large files are checked at once). An error stops both sources before their next file and
    is raised here once both have stopped."""
    queues: dict[Source, list[tuple[int, Path]]] = {}
    for i, (source, path) in enumerate(todo):
        queues.setdefault(source, []).append((i, path))
    lock = threading.Lock()
    stop = threading.Event()

    def ingest_source(source: Source, queue: list[tuple[int, Path]], cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            for i, path in queue:
                if stop.is_set():
                    return
                out = ingest_file(home, path, source, run_id, docs=False, con=cursor)
                with lock:
                    outcomes[i] = out
                    echo(f"[{len(outcomes)}/{len(todo)}] {out.line()}")
        except BaseException:
            stop.set()
            raise

    # the cursors are made and closed here: a connection object is not safe to use from two threads at once
    cursors = {source: con.cursor() for source in queues}
    try:
        with ThreadPoolExecutor(max_workers=len(queues), thread_name_prefix="wfm-ingest") as pool:
            running = [pool.submit(ingest_source, s, queue, cursors[s]) for s, queue in queues.items()]
            try:
                errors = [error for future in running if (error := future.exception()) is not None]
            except BaseException:  # interrupted while waiting: the threads stop after their current file
                stop.set()
                raise
    finally:
        for cursor in cursors.values():
            cursor.close()
    if errors:
        raise errors[0]


@dataclass
class BuildReport:
    vintage: str
    seconds: float
    warnings: list[str] = field(default_factory=list)


def build_and_check(
    home: Home,
    run_id: str | None = None,
    echo: Echo = _quiet,
    full_refresh: bool = False,
    worker: DbtWorker | None = None,
    unit_tests: bool = True,
) -> BuildReport:
    """dbt build, then the marts' expectation suite; raises WfmError if either fails (nothing is published).

    `worker`: the dbt process to build in (`wfm.build.DbtWorker`), else this one; `unit_tests`: see
    `wfm.build.build` (the nightly job, here and in the DAG, runs without them). The marts' validation
    rebuilds the Data Docs, so they show every validation stored before it too."""
    from wfm.build import build

    run_id = run_id or new_run_id()
    ahead = None
    if worker is not None:  # this process only waits while the worker builds: import what publishing needs,
        warmup.start(warmup.PUBLICATION_MODULES)  # and prepare the marts' gate
        ahead = threading.Thread(target=_prepare_marts_gate, args=(home,), name="wfm-marts-gate-ahead", daemon=True)
        ahead.start()
    try:
        result = build(home.warehouse, run_id=run_id, full_refresh=full_refresh, worker=worker, unit_tests=unit_tests)
    finally:
        if ahead is not None:
            ahead.join()
    warmup.wait()
    from wfm.gate import validate_marts
    from wfm.publish import MARTS_SCHEMA

    recomputed = "every period" if result.mode == "full" else _periods_text(result.periods, result.skipped)
    echo(f"built indicators (vintage {result.vintage}, {result.mode}: {recomputed}) in {result.elapsed:.1f} s")
    con = open_warehouse(home)
    try:
        gate = validate_marts(con, schema=MARTS_SCHEMA, run_id=run_id, home=home)
    finally:
        con.close()
    if not gate.success:
        raise WfmError(
            "the built indicators fail the marts suite: " + ", ".join(gate.failed_critical), rule="marts_gate"
        )
    if gate.warnings:
        echo("marts warnings: " + ", ".join(gate.warnings))
    return BuildReport(str(result.vintage), result.elapsed, list(gate.warnings))


def _prepare_marts_gate(home: Home) -> None:
    """Register the marts' checkpoint and render the pending Data Docs pages ahead (`wfm.gate.prepare_marts`).
    Only ahead of time: whatever fails here is done again, and reported, by the marts' validation itself."""
    with contextlib.suppress(Exception):
        warmup.wait()  # Great Expectations may still be importing (a night without files)
        from wfm.gate import prepare_marts

        prepare_marts(home)


def _periods_text(periods: dict[str, list[str]], skipped: list[str]) -> str:
    shown = [f"{source} {', '.join(values)}" for source, values in periods.items() if values]
    shown += [f"{source} unchanged" for source in skipped]
    return "; ".join(shown) if shown else "no new periods"


def _build_docs(home: Home, quiet: bool = False) -> None:
    """Rebuild the Data Docs; `quiet` on a path that already has an error to report, which a failing rebuild
    must not replace."""
    with contextlib.suppress(Exception) if quiet else contextlib.nullcontext():
        warmup.wait()
        from wfm.gate import build_docs  # imported when needed: Great Expectations is slow to import

        build_docs(home)


def run_nightly(
    home: Home, run_id: str | None = None, echo: Echo = _quiet, worker: DbtWorker | None = None
) -> dict[str, float]:
    """The nightly job; returns (and reports) its own wall time per stage, which `make bench` reads.

    `worker`: the night's dbt process (`wfm.build.DbtWorker` on the home's warehouse), if the caller started it
    already; `wfm run` does, before importing the rest of the night (see `wfm.cli`)."""
    from wfm.build import DbtWorker
    from wfm.publish import publish

    started = time.perf_counter()
    # dbt is imported and the project parsed in a process of its own while the files are ingested; this
    # process imports Great Expectations meanwhile, for the gate
    worker = worker or DbtWorker(home.warehouse)
    warmup.start()
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
        build_and_check(home, run_id=run_id, echo=echo, worker=worker, unit_tests=False)
    except BaseException:
        worker.close()
        _build_docs(home, quiet=True)
        raise
    built = time.perf_counter()
    try:
        echo(f"published {publish(home)}")
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
