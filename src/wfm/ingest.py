"""Ingestion: a delivered file becomes one batch — staged, gated, then promoted to `raw`, or refused whole.

    inbox/<source>/FILE ─stage─▶ landing.batch_<id> + audit.quarantine ─gate─▶ ─promote─▶ raw.<table> + archive/
                          └─ refused whole ─▶ rejected/FILE + FILE.reason.txt        └─ gate fails ─▶ rejected/

Each step is one DuckDB transaction, so a crash leaves either nothing or a complete step behind, and a re-run
picks up where it stopped: a staged batch (a row in `audit.staged_batches`) goes straight to the gate. A file is
identified by the SHA-256 of its bytes: the same bytes again are logged as `duplicate` and load nothing.

The same three functions (`stage`, `gate`, `promote`) are the Airflow tasks of the nightly DAG, mapped over the
new files; `ingest_file` chains them. The command line (`wfm ingest`, `wfm run`: `wfm.pipeline.ingest_all`)
ingests every file of a run in one process, so there each file is a single transaction with no landing table:
the accepted rows go straight into raw and the gate reads them there, a refused batch's rows are taken out
again before the commit. The same batch, quarantine, validations and log, without copying the accepted rows; a
crash leaves nothing of the file, and the re-run takes it from the start.

Personal data: the text of the file is read into TEMP tables (memory, spilling only to a system temp folder),
the ID number is checked and hashed there, and only typed, pseudonymised rows and masked quarantine rows are
written to the warehouse file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from wfm import codes, formats, pseudonym, rules, warmup
from wfm.config import Home
from wfm.errors import FileRefused, WfmError
from wfm.normalize import Nfkc
from wfm.schema import COLUMNS, RAW_TABLE, Source
from wfm.warehouse import connect, contract_columns, ensure_schema, sql_literal, transaction

SOURCES: tuple[Source, ...] = ("survey", "enterprise")
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet"}
PERSONAL = [c.name for source in SOURCES for c in COLUMNS[source] if c.kind == "personal"]


@dataclass
class BatchOutcome:
    file_name: str
    source: Source
    sha256: str
    outcome: str  # staged | loaded | rejected | duplicate
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: wall seconds per step (load, gate, promote), for the job's own stage timings
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """The one line the command line prints per file."""
        head = f"{self.outcome:<9} {self.source:<10} {self.file_name}"
        if self.outcome == "loaded":
            text = (
                f"{head}: {self.rows_read} rows read, {self.rows_accepted} accepted, "
                f"{self.rows_quarantined} quarantined ({self.seconds:.1f} s)"
            )
            return text + (f"; warnings: {', '.join(self.warnings)}" if self.warnings else "")
        if self.outcome == "duplicate":
            return f"{head}: the same bytes were already delivered; nothing loaded"
        return f"{head}: {self.reason}"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return f"manual__{now():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


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


def new_files(home: Home) -> list[tuple[Source, Path]]:
    """Files waiting in the inbox, oldest name first, per source."""
    found: list[tuple[Source, Path]] = []
    for source in SOURCES:
        folder = home.inbox(source)
        if folder.is_dir():
            found += [
                (source, p)
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            ]
    return found


def _unique_target(folder: Path, name: str, sha: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and sha256_file(target) != sha:
        target = folder / f"{Path(name).stem}.{sha[:12]}{Path(name).suffix}"
    return target


def _move(path: Path, folder: Path, sha: str) -> Path:
    """Move a delivered file, untouched, out of the inbox (idempotent when it was moved already)."""
    target = _unique_target(folder, path.name, sha)
    if path.exists():
        shutil.move(str(path), target)
    return target


def _refuse_file(home: Home, path: Path, source: Source, sha: str, reason: str, message: str) -> None:
    target = _move(path, home.rejected / source, sha)
    target.with_name(target.name + ".reason.txt").write_text(f"{reason}\n{message}\n", encoding="utf-8")


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


def _masked_json(columns: list[str], alias: str) -> str:
    """SQL: the row as sent, as JSON, with personal fields replaced by a mask."""
    pairs = ", ".join(
        f"'{c}', "
        + (
            f"CASE WHEN {alias}.\"{c}\" IS NULL THEN NULL ELSE '{pseudonym.MASK}' END"
            if c in PERSONAL
            else f'{alias}."{c}"'
        )
        for c in columns
    )
    return f"json_object({pairs})"


def _stage_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Source,
    sha: str,
    run_id: str,
    text: str,
    info: formats.FileInfo,
    landing: str | None,
) -> BatchOutcome:
    """Check and pseudonymise a file read into TEMP `text` (`formats.read_into`): accepted rows into the new table
    `landing`, or, with None, straight into the source's raw table (`_ingest_at_once`: its transaction takes them
    out again if the gate refuses the batch); the others into audit.quarantine. Inside the caller's transaction."""
    checked = f"checked_{sha[:16]}"
    ipad, opad = pseudonym.hmac_pads(pseudonym.secret_key())
    try:  # the caller registered `nfkc` (Nfkc) before its transaction began
        con.execute(f"CREATE OR REPLACE TEMP TABLE {checked} AS {rules.checked_sql(source, text, info.columns)}")
    except duckdb.Error as exc:
        # The rules type any text, a bad value becoming a reason; a value they fail on is a bug, which refuses the
        # file (kept in rejected/ for a re-run) rather than ending the night. DuckDB's message may quote the value
        # (an ID number), so only its kind is told.
        raise FileRefused(
            f"the row checks failed on a value ({type(exc).__name__}); the file is kept for a re-run",
            file=path.name,
            rule="row_rules",
        ) from None
    extras = info.extra_columns
    extra_pairs = ", ".join(f"'{e}', t.\"{e}\"" for e in extras)
    extra_json = f"json_object({extra_pairs})" if extras else "CAST(NULL AS JSON)"
    person_key = f"CASE WHEN c.id_number IS NOT NULL THEN {pseudonym.hmac_sql('c.id_number')} END AS person_key"
    ordered = [person_key if name == "person_key" else f'c."{name}"' for name, _ in contract_columns(source)]
    loaded = now()
    # the file's text is joined back only for columns outside the contract (0.7 s of a million rows otherwise)
    rows = f"{checked} c JOIN {text} t USING (row_number)" if extras else f"{checked} c"
    into = f"INSERT INTO {RAW_TABLE[source]}" if landing is None else f"CREATE OR REPLACE TABLE {landing} AS"
    try:
        (accepted,) = con.execute(
            f"{into} SELECT '{sha}' AS batch_id, c.row_number, {', '.join(ordered)}, "
            f"{extra_json} AS extra_columns, TIMESTAMP '{loaded}' AS loaded_at FROM {rows} WHERE c.reasons = ''",
            {"ipad": ipad, "opad": opad} if source == "survey" else None,
        ).fetchone()
    except duckdb.ConstraintException as missing:
        # raw's required columns are NOT NULL (wfm.warehouse.required_columns): an accepted row without one
        # means the row rules missed it, a bug; the file is refused whole and kept for a re-run. Only the
        # column is taken from DuckDB's message (another constraint's message could quote a value).
        named = re.search(r"NOT NULL constraint failed: \w+\.(\w+)", str(missing))
        column = named.group(1) if named else None
        raise FileRefused(
            "an accepted row lacks a value the warehouse requires; the file is kept for a re-run",
            file=path.name,
            column=column,
            rule="raw_not_null",
        ) from None
    con.execute(
        f"INSERT INTO audit.quarantine SELECT '{sha}', '{source}', c.row_number, c.reasons, "
        f"{_masked_json([*info.columns, *extras], 't')}, ?, ? FROM {checked} c JOIN {text} t USING (row_number) "
        f"WHERE c.reasons <> ''",
        [run_id, loaded],
    )
    con.execute(f"DROP TABLE {checked}")
    return BatchOutcome(path.name, source, sha, "staged", info.rows_read, accepted, info.rows_read - accepted)


def _file_extra(info: formats.FileInfo) -> dict[str, str | None]:
    """What audit.load_log keeps of how the file was written."""
    return {
        "encoding": info.encoding,
        "file_format": info.file_format,
        "form_metadata": json.dumps(info.form_metadata, ensure_ascii=False) if info.form_metadata else None,
    }


def _seen_before(
    con: duckdb.DuckDBPyConnection, home: Home, path: Path, source: Source, sha: str, run_id: str
) -> BatchOutcome | None:
    """The same bytes were delivered before: log and archive this copy as a duplicate (None when they were not)."""
    seen = con.execute(
        "SELECT outcome FROM audit.load_log WHERE file_sha256 = ? AND outcome <> 'duplicate' "
        "ORDER BY loaded_at LIMIT 1",
        [sha],
    ).fetchone()
    if not seen:
        return None
    out = BatchOutcome(path.name, source, sha, "duplicate", reason=f"already {seen[0]}")
    with transaction(con):
        _log(con, out, run_id)
    _move(path, home.archive / source, sha)
    return out


def _refused(
    con: duckdb.DuckDBPyConnection, home: Home, path: Path, source: Source, sha: str, run_id: str, refused: FileRefused
) -> BatchOutcome:
    """A file that cannot be taken as a whole: logged, and moved to rejected/ with its reason."""
    out = BatchOutcome(path.name, source, sha, "rejected", reason=f"{refused.rule}: {refused}")
    with transaction(con):
        _log(con, out, run_id)
    _refuse_file(home, path, source, sha, refused.rule or "unreadable", str(refused))
    return out


def _staged_already(con: duckdb.DuckDBPyConnection, path: Path, source: Source, sha: str) -> BatchOutcome | None:
    """A batch a crashed run staged (the three-step path) and neither promoted nor rejected."""
    staged = con.execute(
        "SELECT rows_read, rows_accepted, rows_quarantined FROM audit.staged_batches WHERE file_sha256 = ?", [sha]
    ).fetchone()
    return BatchOutcome(path.name, source, sha, "staged", *staged) if staged else None


def stage(
    home: Home, path: Path, source: Source, run_id: str, con: duckdb.DuckDBPyConnection | None = None
) -> BatchOutcome:
    """Read, check and pseudonymise one file into its landing table (or refuse it, or see it is a duplicate).

    `con`: an open warehouse connection to use (and leave open), as for `gate` and `promote`."""
    started = time.perf_counter()
    sha = sha256_file(path)
    with _warehouse(home, con) as con:
        if staged := _staged_already(con, path, source, sha):  # a run that crashed after staging: go on from the gate
            return staged
        if duplicate := _seen_before(con, home, path, source, sha, run_id):
            return duplicate
        text = f"text_{sha[:16]}"
        try:
            # read before the transaction: the row numbers come from the TEMP table's committed row ids
            info = formats.read_into(con, path, source, text)
            try:
                with Nfkc(con), transaction(con):
                    out = _stage_rows(con, path, source, sha, run_id, text, info, landing_table(sha))
                    extra = _file_extra(info)
                    con.execute(
                        "INSERT INTO audit.staged_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            sha,
                            path.name,
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
            out = _refused(con, home, path, source, sha, run_id, refused)
        out.seconds = time.perf_counter() - started
        return out


def gate(
    home: Home, sha: str, run_id: str, docs: bool = True, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[bool, list[str], list[str]]:
    """Run the batch's expectation suite on its landing table: (passed, failed critical, failed warnings).

    `docs=False` leaves the Data Docs to be rebuilt by the caller (`wfm.gate.build_docs`)."""
    warmup.wait()
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
    """Move a gated batch into `raw` (or reject it when a critical expectation failed), in one transaction."""
    with _warehouse(home, con) as con:
        row = con.execute(
            "SELECT file_name, source, rows_read, rows_accepted, rows_quarantined, encoding, "
            "file_format, form_metadata FROM audit.staged_batches WHERE file_sha256 = ?",
            [sha],
        ).fetchone()
        if row is None:
            raise WfmError("no staged batch to promote", file=path.name, rule="promote")
        name, source, read, accepted, quarantined, encoding, file_format, metadata = row
        extra = {"encoding": encoding, "file_format": file_format, "form_metadata": metadata}
        out = BatchOutcome(name, source, sha, "staged", read, accepted, quarantined)
        with transaction(con):
            _settle(con, out, landing_table(sha), passed, failed, run_id, extra)
            con.execute("DELETE FROM audit.staged_batches WHERE file_sha256 = ?", [sha])
        _file_away(home, path, out)
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


def _file_away(home: Home, path: Path, out: BatchOutcome) -> None:
    """After the commit: a loaded file to archive/, a rejected one to rejected/ with its reason."""
    if out.outcome == "loaded":
        _move(path, home.archive / out.source, out.sha256)
    else:
        _refuse_file(home, path, out.source, out.sha256, "gate", out.reason or "gate")


def ingest_file(
    home: Home,
    path: Path,
    source: Source,
    run_id: str,
    docs: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> BatchOutcome:
    """Stage, gate and promote one file: what `wfm ingest` does per file (`docs`: see `gate`).

    Alone, the three steps of the nightly DAG, each opening the warehouse and committing on its own. With `con`,
    the connection of a caller ingesting several files in one process (`wfm.pipeline.ingest_all`), the file is
    one transaction (`_ingest_at_once`): same rows, quarantine, validations and log, but no landing table (the
    accepted rows go straight into raw, taken out again if the gate refuses the batch). That caller registers
    the `nfkc` function the row checks use (`wfm.normalize.Nfkc`) on the database once, outside any transaction,
    for every file and connection of the run (DuckDB keeps one such function per database, so two connections
    could not each add theirs)."""
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
    out.warnings = warnings
    out.seconds = done - started
    out.timings = {"load": staged - started, "gate": gated - staged, "promote": done - gated}
    return out


def _ingest_at_once(
    home: Home, path: Path, source: Source, run_id: str, docs: bool, con: duckdb.DuckDBPyConnection
) -> BatchOutcome:
    """One file in one transaction: a crash leaves nothing, and a re-run takes the file from the start.

    A landing table is what lets the DAG's tasks, separate processes, hand a batch on. In one process the
    accepted rows go straight into raw, inside the transaction, and the gate reads them there (`_batch_views`):
    a persistent landing table cost a write and a copy of every accepted row (about 2 s of a national night),
    a TEMP one still a copy (the national survey wave's staging and promotion 1.9 -> 1.6 s)."""
    started = time.perf_counter()
    sha = sha256_file(path)
    if _staged_already(con, path, source, sha):  # staged by a crashed three-step run: finish it that way
        passed, failed, warnings = gate(home, sha, run_id, docs=docs, con=con)
        gated = time.perf_counter()
        out = promote(home, path, sha, run_id, passed, failed, con=con)
        out.warnings, out.seconds = warnings, time.perf_counter() - started
        out.timings = {"load": 0.0, "gate": gated - started, "promote": out.seconds - (gated - started)}
        return out
    if duplicate := _seen_before(con, home, path, source, sha, run_id):
        duplicate.timings = {"load": time.perf_counter() - started}
        return duplicate
    text = f"text_{sha[:16]}"
    try:
        info = formats.read_into(con, path, source, text)  # before the transaction: see read_into
    except FileRefused as refused:
        out = _refused(con, home, path, source, sha, run_id, refused)
        out.timings = {"load": time.perf_counter() - started}
        return out
    try:
        with transaction(con):  # `nfkc` was registered by the caller (see ingest_file)
            out = _stage_rows(con, path, source, sha, run_id, text, info, None)
            staged = time.perf_counter()
            warmup.wait()  # the file was read while Great Expectations was imported
            from wfm.gate import validate_batch

            with _batch_views(con, source, sha) as (batch, before):
                result = validate_batch(
                    con, source=source, table=batch, batch_id=sha, run_id=run_id, home=home, docs=docs, raw=before
                )
            gated = time.perf_counter()
            _settle(con, out, None, result.success, list(result.failed_critical), run_id, _file_extra(info))
    except FileRefused as refused:  # rolled back whole; see _stage_rows
        out = _refused(con, home, path, source, sha, run_id, refused)
        out.timings = {"load": time.perf_counter() - started}
        return out
    finally:
        formats.drop_text(con, text)
    _file_away(home, path, out)
    done = time.perf_counter()
    out.warnings = list(result.warnings)
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
