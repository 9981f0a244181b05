"""One delivered file as one batch: staged, gated, then promoted to `raw`, or refused whole.

    inbox/<source>/FILE ─take─▶ intake/<source>/<sha256>.<ext> ─stage─▶ landing.batch_<id> + audit.quarantine
        ─gate─▶ ─promote─▶ raw.<table> + archive/            └─ refused whole ─▶ rejected/FILE + FILE.reason.txt
                     └─ gate fails ─▶ rejected/

Taken in three steps, each is one DuckDB transaction, so a crash leaves either nothing or a complete step behind,
and a re-run picks up where it stopped: a staged batch (a row in `audit.staged_batches`) goes straight to the gate.
A file is identified by the SHA-256 of its bytes: the same bytes as a file loaded before are logged as `duplicate`
and load nothing; the same bytes as a refused file are judged again (a corrected rule may let them in).

What is read, hashed and filed away is the private copy `wfm.ingest.inbox.take` makes of the delivered file (a
neutral name, which no reader takes for a pattern; bytes no sender can change); an entry it cannot take is
waiting, skipped or refused with its reason, and the run goes on with the next file.

`ingest_file` chains the three functions (`stage`, `gate`, `promote`). The nightly DAG prepares each file apart and
promotes them all with one writer (`wfm.ingest.prepared`), on the steps of this module. The command line (`wfm
ingest`, `wfm run`: `wfm.ingest.run.ingest_all`) ingests every file of a run in one process, so there each file is a
single transaction with no landing table: the accepted rows go straight into raw and the gate reads them there, a
refused batch's rows are taken out again before the commit. The same batch, quarantine, validations and log, without
copying the accepted rows; a crash leaves nothing of the file, and the re-run takes it from the start.

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
from wfm.errors import FileRefused, WfmError, shown
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


def landing_table(sha: str) -> str:
    return f"landing.batch_{sha[:16]}"


def open_warehouse(home: Home) -> duckdb.DuckDBPyConnection:
    con = connect(home.warehouse)
    # Spill files of TEMP tables (which hold personal data in clear) go to the system temp folder, not the home.
    con.execute(f"SET temp_directory = {sql_literal(Path(tempfile.gettempdir()) / 'wfm-duckdb-spill')}")
    ensure_schema(con)
    codes.install_sql(con)
    return con


@contextmanager
def _warehouse(home: Home, con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's open warehouse connection, or one opened (and closed) for this step alone."""
    if con is not None:
        yield con
        return
    own = open_warehouse(home)
    try:
        yield own
    finally:
        own.close()


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
) -> BatchOutcome:
    """The file's rows checked into the batch and the quarantine (`stage_rows`), as a staged outcome."""
    sha = taken.sha256
    accepted = stage_rows(con, taken.path, taken.source, sha, run_id, text, info, landing, now())
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


def _staged_already(con: duckdb.DuckDBPyConnection, taken: Taken) -> BatchOutcome | None:
    """A batch a crashed run staged (the three-step path) and neither promoted nor rejected."""
    staged = con.execute(
        "SELECT rows_read, rows_accepted, rows_quarantined FROM audit.staged_batches WHERE file_sha256 = ?",
        [taken.sha256],
    ).fetchone()
    return BatchOutcome(taken.name, taken.source, taken.sha256, "staged", *staged) if staged else None


def stage(
    home: Home, path: Path, source: Source, run_id: str, con: duckdb.DuckDBPyConnection | None = None
) -> BatchOutcome:
    """Take one delivered file, then read, check and pseudonymise its private copy into its landing table (or
    refuse it, or see it is a duplicate). The copy stays in the intake folder for `promote`; an entry that
    cannot be taken gets its outcome (waiting, skipped, rejected) at once.

    `con`: an open warehouse connection to use (and leave open), as for `gate` and `promote`."""
    started = time.perf_counter()
    taken = _take(home, path, source, started)
    if isinstance(taken, BatchOutcome):
        return taken
    sha = taken.sha256
    with _warehouse(home, con) as con:
        if staged := _staged_already(con, taken):  # a run that crashed after staging: go on from the gate
            return staged
        if duplicate := _seen_before(con, home, taken, run_id):
            return duplicate
        text = f"text_{sha[:16]}"
        try:
            # read before the transaction: the row numbers come from the TEMP table's committed row ids
            info = _read(con, taken, text)
            try:
                with Nfkc(con), transaction(con):
                    out = _staged(con, taken, run_id, text, info, landing_table(sha))
                    extra = file_extra(info)
                    con.execute(
                        "INSERT INTO audit.staged_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            sha,
                            out.file_name,
                            source,
                            out.rows_read,
                            out.rows_accepted,
                            out.rows_quarantined,
                            extra["encoding"],
                            extra["file_format"],
                            extra["form_metadata"],
                            run_id,
                            now(),
                        ],
                    )
            finally:
                formats.drop_text(con, text)
        except FileRefused as refused:
            out = _refused(con, home, taken, run_id, refused)
        out.seconds = time.perf_counter() - started
        return out


def gate(
    home: Home, sha: str, run_id: str, docs: bool = True, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[bool, list[str], list[str]]:
    """Run the batch's expectation suite on its landing table: (passed, failed critical, failed warnings).

    `docs=False` leaves the Data Docs to be rebuilt by the caller (`wfm.gate.build_docs`)."""
    from wfm.gate import validate_batch

    with _warehouse(home, con) as con:
        row = con.execute("SELECT source FROM audit.staged_batches WHERE file_sha256 = ?", [sha]).fetchone()
        if row is None:
            raise WfmError("no staged batch to validate", file=sha[:12], rule="gate")
        with transaction(con):
            result = validate_batch(
                con, source=row[0], table=landing_table(sha), batch_id=sha, run_id=run_id, home=home, docs=docs
            )
        return result.success, list(result.failed_critical), list(result.warnings)


def promote(
    home: Home,
    path: Path,
    sha: str,
    run_id: str,
    passed: bool,
    failed: list[str],
    con: duckdb.DuckDBPyConnection | None = None,
) -> BatchOutcome:
    """Move a gated batch into `raw` (or reject it when a critical expectation failed), in one transaction;
    then file away the private copy `stage` took of the delivered file `path`."""
    with _warehouse(home, con) as con:
        row = con.execute(
            "SELECT file_name, source, rows_read, rows_accepted, rows_quarantined, encoding, "
            "file_format, form_metadata FROM audit.staged_batches WHERE file_sha256 = ?",
            [sha],
        ).fetchone()
        if row is None:
            raise WfmError("no staged batch to promote", file=shown(path.name), rule="promote")
        name, source, read, accepted, quarantined, encoding, file_format, metadata = row
        extra = {"encoding": encoding, "file_format": file_format, "form_metadata": metadata}
        out = BatchOutcome(name, source, sha, "staged", read, accepted, quarantined)
        with transaction(con):
            _settle(con, out, landing_table(sha), passed, failed, run_id, extra)
            con.execute("DELETE FROM audit.staged_batches WHERE file_sha256 = ?", [sha])
        _file_away(home, Taken.again(home, source, path, sha), out)
        return out


def _settle(
    con: duckdb.DuckDBPyConnection,
    out: BatchOutcome,
    landing: str | None,
    passed: bool,
    failed: list[str],
    run_id: str,
    extra: dict[str, str | None],
) -> None:
    """Inside the caller's transaction: a gated batch into `raw` (or rejected, when a critical expectation
    failed), its landing table dropped, the outcome logged. `out` becomes loaded or rejected. Without a
    `landing` table the rows are in raw already (`_ingest_at_once`), and a rejected batch's are taken out."""
    raw = RAW_TABLE[out.source]
    if passed:
        if landing is not None:
            con.execute(f"INSERT INTO {raw} SELECT * FROM {landing}")
        out.outcome = "loaded"
    else:
        if landing is None:
            con.execute(f"DELETE FROM {raw} WHERE batch_id = ?", [out.sha256])
        out.outcome, out.rows_accepted, out.reason = "rejected", 0, "gate: " + ", ".join(failed)
    if landing is not None:
        con.execute(f"DROP TABLE {landing}")
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
    """Take, stage, gate and promote one delivered file: what `wfm ingest` does per file (`docs`: see `gate`).

    Alone, the three steps of the nightly DAG, each opening the warehouse and committing on its own. With `con`,
    the connection of a caller ingesting several files in one process (`wfm.ingest.run.ingest_all`), the file is
    one transaction (`_ingest_at_once`): same rows, quarantine, validations and log, but no landing table (the
    accepted rows go straight into raw, taken out again if the gate refuses the batch). That caller registers
    the `nfkc` function the row checks use (`wfm.ingest.normalize.Nfkc`) on the database once, outside any transaction,
    for every file and connection of the run (DuckDB keeps one such function per database, so two connections
    could not each add theirs).

    The delivered file leaves `path` once its private copy is filed away (see `wfm.ingest.inbox`)."""
    if con is not None:
        return _ingest_at_once(home, path, source, run_id, docs, con)
    started = time.perf_counter()
    out = stage(home, path, source, run_id)
    staged = time.perf_counter()
    if out.outcome != "staged":
        out.timings = {"load": staged - started}
        return out
    passed, failed, warnings = gate(home, out.sha256, run_id, docs=docs)
    gated = time.perf_counter()
    out = promote(home, path, out.sha256, run_id, passed, failed)
    done = time.perf_counter()
    out.warnings = warnings + out.warnings
    out.seconds = done - started
    out.timings = {"load": staged - started, "gate": gated - staged, "promote": done - gated}
    return out


def _ingest_at_once(
    home: Home, path: Path, source: Source, run_id: str, docs: bool, con: duckdb.DuckDBPyConnection
) -> BatchOutcome:
    """One file in one transaction: a crash leaves nothing (but the private copy, cleared by the next run), and
    a re-run takes the file from the start.

    A landing table is what lets the DAG's tasks, separate processes, hand a batch on. In one process the
    accepted rows go straight into raw, inside the transaction, and the gate reads them there (`_batch_views`):
    a persistent landing table would cost a write and a copy of every accepted row, a TEMP one still a copy."""
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
    if _staged_already(con, taken):  # staged by a crashed three-step run: finish it that way
        passed, failed, warnings = gate(home, sha, run_id, docs=docs, con=con)
        gated = time.perf_counter()
        out = promote(home, taken.delivered, sha, run_id, passed, failed, con=con)
        out.warnings, out.seconds = warnings + out.warnings, time.perf_counter() - started
        out.timings = {"load": 0.0, "gate": gated - started, "promote": out.seconds - (gated - started)}
        return out
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
            _settle(con, out, None, result.success, list(result.failed_critical), run_id, file_extra(info))
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
