"""A run's deliveries: every file ingested as its own batch, the two sources side by side.

`wfm ingest` and `wfm run` call `ingest_all`; each file is one transaction (`wfm.ingest.batch.ingest_file` with
the run's connection), a source's files go in order, and a bad file never stops the good ones. Every entry of
the inbox gets an outcome, one line each: the entries that wait (`wfm.ingest.inbox.scan`) first, then each file
as it is done.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from wfm import gate
from wfm.config import Home
from wfm.contract import Source
from wfm.errors import WfmError, shown
from wfm.ingest import pseudonym
from wfm.ingest.batch import BatchOutcome, ingest_file, new_run_id, open_warehouse
from wfm.ingest.inbox import clear_intake, copy_in, scan
from wfm.ingest.normalize import Nfkc

Echo = Callable[[str], None]


def quiet(_: str) -> None:
    pass


def new_files(home: Home, echo: Echo = quiet) -> list[tuple[Source, Path]]:
    """The inbox's entries to ingest tonight, oldest name first, per source (the DAG maps its steps over them);
    the entries that wait are reported through `echo`, one line each. A night starts here: private copies a
    killed run left behind are cleared."""
    todo, waiting = _sorted_inbox(home)
    for out in waiting:
        echo(out.line())
    return todo


def _sorted_inbox(home: Home) -> tuple[list[tuple[Source, Path]], list[BatchOutcome]]:
    clear_intake(home)
    todo, notices = scan(home)
    return todo, [BatchOutcome(shown(n.name), n.source, "", n.outcome, reason=n.reason) for n in notices]


def _named(home: Home, files: list[tuple[Source, Path]]) -> list[tuple[Source, Path]]:
    """Files named on the command line: each must be a file (else a usage error, before any file is read)."""
    for _, path in files:
        try:
            is_file = path.is_file()
        except OSError:  # a name too long, a loop of links
            is_file = False
        if not is_file:
            raise WfmError("no such file", file=shown(str(path)), rule="usage")
    return files


def ingest_all(
    home: Home,
    files: list[tuple[Source, Path]] | None = None,
    run_id: str | None = None,
    echo: Echo = quiet,
    docs: bool = True,
) -> list[BatchOutcome]:
    """Each file as its own batch; a bad file never stops the good ones. One line per entry through `echo`:
    the inbox's waiting entries first, then each file as it is done; the outcomes are returned in that
    order, the files' in the order of `files`.

    `files`: files named on the command line, taken at once (no quiet period); one outside the inbox is
    copied into it first (`wfm.ingest.inbox.copy_in`), so the operator's file stays where it is. Without
    `files`, every entry of the inbox (`new_files`).

    The Data Docs are rebuilt once at the end (`docs`), not after every batch: rendering them costs more than
    a batch's validation. `docs=False` leaves that to the caller. Each file is one transaction
    (`ingest_file` with a connection), and the two sources are ingested side by side
    (`_ingest_side_by_side`)."""
    run_id = run_id or new_run_id()
    if files is None:
        todo, waiting = _sorted_inbox(home)
    else:
        todo, waiting = _named(home, files), []
    total = len(waiting) + len(todo)
    for i, out in enumerate(waiting, 1):
        echo(f"[{i}/{total}] {out.line()}")
    if todo:  # every file is pseudonymised with it: a missing key stops the night before any file is read
        pseudonym.secret_key()
    if files is not None:
        clear_intake(home)
        todo = [(source, copy_in(home, source, path)) for source, path in todo]
    outcomes: dict[int, BatchOutcome] = {}
    failed = True
    try:
        if todo:
            # Great Expectations is imported while the first files are read and checked
            with gate.loading_in_background():
                con = open_warehouse(home)
                try:
                    with Nfkc(con):  # for every file and connection of the run: see ingest_file
                        _ingest_side_by_side(home, con, todo, run_id, echo, outcomes, len(waiting), total)
                finally:
                    con.close()
        failed = False
    finally:
        if docs and any("gate" in o.timings for o in outcomes.values()):
            build_docs(home, quiet=failed)
    return waiting + [outcomes[i] for i in sorted(outcomes)]


def _ingest_side_by_side(
    home: Home,
    con: duckdb.DuckDBPyConnection,
    todo: list[tuple[Source, Path]],
    run_id: str,
    echo: Echo,
    outcomes: dict[int, BatchOutcome],
    shown_before: int = 0,
    total: int | None = None,
    step: Callable[[duckdb.DuckDBPyConnection, Source, Path], BatchOutcome | None] | None = None,
) -> None:
    """Each source's files in order on a thread of its own, with a connection of its own (`con.cursor()`);
    `outcomes[i]` is the outcome of `todo[i]`. The progress lines are numbered on from `shown_before`, out of
    `total` (the run's entries).

    A file's rows are checked for duplicates against its source's earlier files, so a source's files go one
    after the other; the two sources share nothing but the audit tables, to which both only append. Side by
    side, one source's single-threaded stretches (Great Expectations' validation in Python, the small files'
    one-row-group scans, commits) leave the machine's second core to the other's DuckDB queries, at the price
    of a higher peak of memory (the two large files are checked at once). An error stops both sources before
    their next file and is raised here once both have stopped.

    `step(cursor, source, path)`: what is done with each file (default: `ingest_file` on the cursor); a step
    that returns None leaves no outcome (nothing was left to do with that file)."""
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
                if step is None:
                    out = ingest_file(home, path, source, run_id, docs=False, con=cursor)
                else:
                    out = step(cursor, source, path)
                if out is None:
                    continue
                with lock:
                    outcomes[i] = out
                    echo(f"[{shown_before + len(outcomes)}/{total or len(todo)}] {out.line()}")
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


def build_docs(home: Home, quiet: bool = False) -> None:
    """Rebuild the Data Docs; `quiet` on a path that already has an error to report, which a failing rebuild
    must not replace."""
    with contextlib.suppress(Exception) if quiet else contextlib.nullcontext():
        gate.build_docs(home)
