"""One delivered file as one batch: read, checked and gated in one transaction, promoted to `raw` or refused.

    inbox/<source>/FILE ─take─▶ intake/<source>/<sha256>.<ext> ─read, row rules─▶ raw.<table> + audit.quarantine
        ─gate─▶ committed, archive/        └─ gate fails ─▶ taken out of raw again, rejected/
        └─ refused whole ─▶ rejected/FILE + FILE.reason.txt

A file is one DuckDB transaction (`ingest_file`): its accepted rows go straight into raw and the gate reads them
there; a batch the gate refuses is taken out again before the commit. A crash leaves nothing of the file, and the
next run takes it from the start. A file is identified by the SHA-256 of its bytes: the same bytes as a file loaded
before are logged as `duplicate` and load nothing; the same bytes as a refused file are judged again (a corrected
rule may let them in).

What is read, hashed and filed away is the private copy `wfm.ingest.inbox.take` makes of the delivered file (a
neutral name, which no reader takes for a pattern; bytes no sender can change); an entry it cannot take is
waiting, skipped or refused with its reason, and the run goes on with the next file.

The command line (`wfm ingest`, `wfm run`: `wfm.ingest.run.ingest_all`) ingests every file of a run in one
process, on one connection. The nightly DAG prepares each file apart and promotes them all with one writer
(`wfm.ingest.prepared`), on the steps of this module.

Personal data: the text of the file is read into TEMP tables (memory, spilling only to a system temp folder),
the ID number is checked and hashed there, and only typed, pseudonymised rows and masked quarantine rows are
written to the warehouse file.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from wfm.config import Home
from wfm.contract import RAW_TABLE, Source
from wfm.errors import FileRefused, shown
from wfm.ingest import codes, formats
from wfm.ingest.inbox import NotTaken, Taken, file_away, set_aside, take
from wfm.ingest.normalize import Nfkc
from wfm.ingest.staging import file_extra, stage_rows
from wfm.warehouse import connect, ensure_schema, sql_literal, transaction


@dataclass
class BatchOutcome:
    file_name: str
    source: Source
    sha256: str
    outcome: str  # staged | loaded | rejected | duplicate | waiting | skipped
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: wall seconds per step (load, gate, promote), for the job's own stage timings
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """The one line the command line prints per file, names and reasons escaped (`shown`)."""
        head = f"{self.outcome:<9} {self.source:<10} {shown(self.file_name)}"
        if self.outcome == "loaded":
            text = (
                f"{head}: {self.rows_read} rows read, {self.rows_accepted} accepted, "
                f"{self.rows_quarantined} quarantined ({self.seconds:.1f} s)"
            )
        elif self.outcome == "duplicate":
            text = f"{head}: the same bytes were already loaded; nothing loaded"
        else:
            text = f"{head}: {shown(self.reason or '')}"
        return text + (f"; warnings: {shown(', '.join(self.warnings))}" if self.warnings else "")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return f"manual__{now():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"


def open_warehouse(home: Home) -> duckdb.DuckDBPyConnection:
    con = connect(home.warehouse)
    # Spill files of TEMP tables (which hold personal data in clear) go to the system temp folder, not the home.
    con.execute(f"SET temp_directory = {sql_literal(Path(tempfile.gettempdir()) / 'wfm-duckdb-spill')}")
    ensure_schema(con)
    codes.install_sql(con)
    return con


def _log(con: duckdb.DuckDBPyConnection, out: BatchOutcome, run_id: str, extra: dict | None = None) -> None:
    extra = extra or {}
    con.execute(
        "INSERT INTO audit.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            out.file_name,
            out.sha256,
            out.source,
            out.rows_read,
            out.rows_accepted,
            out.rows_quarantined,
            out.outcome,
            out.reason,
            run_id,
            now(),
            extra.get("encoding"),
            extra.get("file_format"),
            extra.get("form_metadata"),
        ],
    )


def _staged(
    con: duckdb.DuckDBPyConnection,
    taken: Taken,
    run_id: str,
    text: str,
    info: formats.FileInfo,
    landing: str | None,
    keys: Path | None = None,
) -> BatchOutcome:
    """The file's rows checked into the batch and the quarantine (`stage_rows`, which writes `keys`), as a staged
    outcome."""
    sha = taken.sha256
    accepted = stage_rows(con, taken.path, taken.source, sha, run_id, text, info, landing, now(), keys)
    return BatchOutcome(taken.name, taken.source, sha, "staged", info.rows_read, accepted, info.rows_read - accepted)


def _take(home: Home, path: Path, source: Source, started: float) -> Taken | BatchOutcome:
    """The delivered file's private copy (`wfm.ingest.inbox.take`), or the outcome of an entry that cannot be
    taken: waiting or skipped (left where it is), or rejected when it is not a regular file (moved as it is)."""
    try:
        return take(home, source, path)
    except NotTaken as no:
        out = BatchOutcome(shown(path.name), source, "", no.outcome, reason=no.reason)
        if no.outcome == "rejected":
            code, _, message = no.reason.partition(": ")
            out.warnings = set_aside(home, source, path, code, message)
        out.seconds = time.perf_counter() - started
        out.timings = {"load": out.seconds}
        return out


def _read(con: duckdb.DuckDBPyConnection, taken: Taken, text: str) -> formats.FileInfo:
    """`formats.read_into` on the private copy; a name the intake does not read is refused here."""
    if not taken.ext:
        suffix = Path(taken.name).suffix
        raise FileRefused(
            "the intake reads .csv, .txt, .xlsx, .xlsm and .parquet files, not "
            + (f"{suffix!r} files" if suffix else "a name without a suffix"),
            file=taken.name,
            rule="unsupported_format",
        )
    return formats.read_into(con, taken.path, taken.source, text)


def _seen_before(con: duckdb.DuckDBPyConnection, home: Home, taken: Taken, run_id: str) -> BatchOutcome | None:
    """The same bytes were loaded before: log and archive this copy as a duplicate (None when they were not).

    Only a load makes a duplicate: the same bytes as a refused file are judged again, and refused again with
    their reason if they still break the contract."""
    seen = con.execute(
        "SELECT 1 FROM audit.load_log WHERE file_sha256 = ? AND outcome = 'loaded' LIMIT 1", [taken.sha256]
    ).fetchone()
    if not seen:
        return None
    out = BatchOutcome(taken.name, taken.source, taken.sha256, "duplicate", reason="already loaded")
    with transaction(con):
        _log(con, out, run_id)
    out.warnings = file_away(home, taken)
    return out


def _refused(
    con: duckdb.DuckDBPyConnection, home: Home, taken: Taken, run_id: str, refused: FileRefused
) -> BatchOutcome:
    """A file that cannot be taken as a whole: logged, and moved to rejected/ with its reason. The message names
    the delivered file, not its private copy."""
    rule = shown(refused.rule or "unreadable")  # `duplicate_column:<name>` names a header of the file
    message = shown(str(refused).replace(taken.path.name, taken.name))
    out = BatchOutcome(taken.name, taken.source, taken.sha256, "rejected", reason=f"{rule}: {message}")
    with transaction(con):
        _log(con, out, run_id)
    out.warnings = file_away(home, taken, (rule, message))
    return out


def _settle(
    con: duckdb.DuckDBPyConnection, out: BatchOutcome, passed: bool, failed: list[str], run_id: str, extra: dict
) -> None:
    """Inside the caller's transaction: a gated batch, whose rows are in raw already, kept (loaded) or taken out
    again (rejected, when a critical expectation failed); the outcome logged."""
    if passed:
        out.outcome = "loaded"
    else:
        con.execute(f"DELETE FROM {RAW_TABLE[out.source]} WHERE batch_id = ?", [out.sha256])
        out.outcome, out.rows_accepted, out.reason = "rejected", 0, "gate: " + ", ".join(failed)
    _log(con, out, run_id, extra)


def _file_away(home: Home, taken: Taken, out: BatchOutcome) -> None:
    """After the commit: a loaded file to archive/, a rejected one to rejected/ with its reason."""
    refused = None if out.outcome == "loaded" else ("gate", out.reason or "gate")
    out.warnings += file_away(home, taken, refused)


def ingest_file(
    home: Home,
    path: Path,
    source: Source,
    run_id: str,
    docs: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> BatchOutcome:
    """Take, check, gate and promote one delivered file in one transaction: what `wfm ingest` does per file
    (`docs`: see `wfm.gate.validate_batch`).

    `con`: the open warehouse connection of a caller ingesting several files in one process
    (`wfm.ingest.run.ingest_all`), which registered the `nfkc` function the row checks use
    (`wfm.ingest.normalize.Nfkc`) on the database once, outside any transaction, for every file and connection of
    the run (DuckDB keeps one such function per database, so two connections could not each add theirs).
    Without it, the warehouse is opened for this file alone.

    The delivered file leaves `path` once its private copy is filed away (see `wfm.ingest.inbox`)."""
    if con is not None:
        return _ingest_at_once(home, path, source, run_id, docs, con)
    own = open_warehouse(home)
    try:
        with Nfkc(own):
            return _ingest_at_once(home, path, source, run_id, docs, own)
    finally:
        own.close()


def _ingest_at_once(
    home: Home, path: Path, source: Source, run_id: str, docs: bool, con: duckdb.DuckDBPyConnection
) -> BatchOutcome:
    """One file in one transaction: a crash leaves nothing (but the private copy, cleared by the next run), and
    a re-run takes the file from the start.

    The accepted rows go straight into raw, inside the transaction, and the gate reads them there
    (`_batch_views`): a landing table would cost a write and a copy of every accepted row, a TEMP one still a
    copy. (The DAG's tasks, separate processes, hand a batch on as Parquet: `wfm.ingest.prepared`.)"""
    started = time.perf_counter()
    taken = _take(home, path, source, started)
    if isinstance(taken, BatchOutcome):
        return taken
    try:
        return _taken_at_once(home, taken, run_id, docs, con, started)
    except BaseException:
        with suppress(OSError):  # the delivered file is still where it was: the next run takes it again
            taken.path.unlink()
        raise


def _taken_at_once(
    home: Home, taken: Taken, run_id: str, docs: bool, con: duckdb.DuckDBPyConnection, started: float
) -> BatchOutcome:
    source, sha = taken.source, taken.sha256
    if duplicate := _seen_before(con, home, taken, run_id):
        duplicate.timings = {"load": time.perf_counter() - started}
        return duplicate
    text = f"text_{sha[:16]}"
    try:
        info = _read(con, taken, text)  # before the transaction: see read_into
    except FileRefused as refused:
        out = _refused(con, home, taken, run_id, refused)
        out.timings = {"load": time.perf_counter() - started}
        return out
    try:
        with transaction(con):  # `nfkc` was registered by the caller (see ingest_file)
            out = _staged(con, taken, run_id, text, info, None)
            staged = time.perf_counter()
            from wfm.gate import validate_batch  # waits for Great Expectations' import (`wfm.gate.gx`)

            with _batch_views(con, source, sha) as (batch, before):
                result = validate_batch(
                    con, source=source, table=batch, batch_id=sha, run_id=run_id, home=home, docs=docs, raw=before
                )
            gated = time.perf_counter()
            _settle(con, out, result.success, list(result.failed_critical), run_id, file_extra(info))
    except FileRefused as refused:  # rolled back whole; see `wfm.ingest.staging.stage_rows`
        out = _refused(con, home, taken, run_id, refused)
        out.timings = {"load": time.perf_counter() - started}
        return out
    finally:
        formats.drop_text(con, text)
    out.warnings = list(result.warnings)
    _file_away(home, taken, out)
    done = time.perf_counter()
    out.seconds = done - started
    out.timings = {"load": staged - started, "gate": gated - staged, "promote": done - gated}
    return out


@contextmanager
def _batch_views(con: duckdb.DuckDBPyConnection, source: Source, sha: str) -> Iterator[tuple[str, str]]:
    """TEMP views of a batch whose rows are in raw inside the open transaction: (its rows, raw without them),
    what the gate reads as the batch and as the warehouse before it."""
    raw, suffix = RAW_TABLE[source], sha[:16]
    batch, before = f"batch_{suffix}", f"before_{suffix}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {batch} AS SELECT * FROM {raw} WHERE batch_id = '{sha}'")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {before} AS SELECT * FROM {raw} WHERE batch_id <> '{sha}'")
    try:
        yield batch, before
    finally:
        # after a failed statement the transaction only rolls back, which takes the views with it: the drops
        # must not replace the error being raised
        with suppress(duckdb.Error):
            con.execute(f"DROP VIEW IF EXISTS {batch}")
            con.execute(f"DROP VIEW IF EXISTS {before}")
