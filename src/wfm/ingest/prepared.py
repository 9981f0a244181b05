"""The night scaled out: each file prepared on any worker, in parallel; then one writer promotes them all.

    inbox/<source>/FILE ─prepare (any worker, no writer)─▶ landing/<key>/ {batch,quarantine,keys}.parquet, meta.json
        ─promote (the one writer, every file in one process)─▶ gate ─▶ raw.<table> + audit + archive/ or rejected/

`prepare` takes the file, reads, types and checks it row by row and pseudonymises it exactly as the command line
does, in a DuckDB of its own in memory that sees the warehouse's raw tables read-only (duplicates of rows loaded
on earlier nights go to quarantine there); it writes the accepted rows (raw's columns, ID numbers hashed) and the
quarantined rows (personal data masked) as Parquet, and nothing in clear. Many can run at once: DuckDB lets any
number of processes open a file read-only while none writes it.

`promote` holds the warehouse, and takes the prepared files in their night's order, each in one transaction: the
same bytes as a loaded file are a duplicate; a file refused whole when it was read is logged and set aside; a
batch is gated against raw as it stands (tonight's earlier batches included), promoted or refused, its
quarantine kept. Only what `prepare` could not see is done again: a row whose key a file promoted earlier
tonight loaded is a duplicate, quarantined with its values as sent (read again from the private copy) when
`prepare` accepted it, given the duplicate's reason too when `prepare` quarantined it (by the typed keys it wrote
to `keys.parquet`), so both paths leave the same rows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from wfm.config import Home
from wfm.contract import RAW_TABLE, Source
from wfm.errors import FileRefused, WfmError, shown
from wfm.ingest import codes, formats
from wfm.ingest.batch import (
    BatchOutcome,
    _batch_views,
    _file_away,
    _log,
    _read,
    _refused,
    _seen_before,
    _settle,
    _staged,
    _take,
    now,
)
from wfm.ingest.inbox import NotTaken, Taken, file_away, take
from wfm.ingest.normalize import Nfkc
from wfm.ingest.rules import DUPLICATE_KEY
from wfm.ingest.staging import file_extra, quarantine_rows
from wfm.warehouse import connect, ensure_schema, sql_literal, transaction


def landing_folder(home: Home, source: Source, path: Path) -> Path:
    """Where `prepare` hands a delivered file's batch on: named by the delivered path, which both steps know."""
    key = hashlib.sha256(f"{source}/{path.name}".encode()).hexdigest()[:24]
    return home.root / "landing" / source / key


def clear_landing(home: Home) -> None:
    """A night starts with no prepared batch: what a killed night left is prepared again from the inbox."""
    shutil.rmtree(home.root / "landing", ignore_errors=True)


def _memory(home: Home) -> duckdb.DuckDBPyConnection:
    """A DuckDB in memory with the warehouse's schema, whose raw tables are the warehouse's, read-only."""
    con = connect(":memory:")
    # as in the warehouse's connections: spill files of TEMP tables (personal data in clear) in the system's temp
    con.execute(f"SET temp_directory = {sql_literal(Path(tempfile.gettempdir()) / 'wfm-duckdb-spill')}")
    ensure_schema(con)
    codes.install_sql(con)
    if home.warehouse.exists():
        con.execute(f"ATTACH {sql_literal(home.warehouse)} AS wh (READ_ONLY)")
        for table in RAW_TABLE.values():
            con.execute(f"DROP TABLE {table}")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM wh.{table}")
    return con


def prepare(home: Home, path: Path, source: Source, run_id: str) -> BatchOutcome:
    """Take one delivered file and write its checked batch to its landing folder (`landing_folder`): outcome
    `prepared`, `rejected` (refused whole: the writer logs it and sets it aside), `duplicate` (the same bytes
    were loaded before), or, for an entry that cannot be taken, `waiting`, `skipped` or `rejected` at once."""
    started = time.perf_counter()
    taken = _take(home, path, source, started)
    if isinstance(taken, BatchOutcome):
        return taken
    folder = landing_folder(home, source, path)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    con = _memory(home)
    meta: dict = {"file": taken.name, "source": source, "sha256": taken.sha256, "run_id": run_id}
    try:
        if (
            home.warehouse.exists()
            and con.execute(
                "SELECT 1 FROM wh.audit.load_log WHERE file_sha256 = ? AND outcome = 'loaded' LIMIT 1", [taken.sha256]
            ).fetchone()
        ):
            out = BatchOutcome(taken.name, source, taken.sha256, "duplicate", reason="already loaded")
        else:
            out = _prepare_rows(con, taken, run_id, folder, meta)
    finally:
        con.close()
    meta["outcome"], meta["reason"] = out.outcome, out.reason
    (folder / "meta.json").write_text(json.dumps(meta))
    out.seconds = time.perf_counter() - started
    out.timings = {"load": out.seconds}
    return out


def _prepare_rows(con: duckdb.DuckDBPyConnection, taken: Taken, run_id: str, folder: Path, meta: dict) -> BatchOutcome:
    # the batch's table in this DuckDB of its own, copied to Parquet
    text, landing = f"text_{taken.sha256[:16]}", f"landing.batch_{taken.sha256[:16]}"
    try:
        info = _read(con, taken, text)
        with Nfkc(con):
            out = _staged(con, taken, run_id, text, info, landing, folder / "keys.parquet")
    except FileRefused as refused:
        rule = shown(refused.rule or "unreadable")
        message = shown(str(refused).replace(taken.path.name, taken.name))
        meta["refused"] = [rule, message]
        return BatchOutcome(taken.name, taken.source, taken.sha256, "rejected", reason=f"{rule}: {message}")
    finally:
        formats.drop_text(con, text)
    con.execute(f"COPY {landing} TO {sql_literal(folder / 'batch.parquet')} (FORMAT parquet)")
    con.execute(f"COPY audit.quarantine TO {sql_literal(folder / 'quarantine.parquet')} (FORMAT parquet)")
    meta.update(rows_read=out.rows_read, rows_accepted=out.rows_accepted, extra=file_extra(info), outcome=out.outcome)
    out.outcome = "prepared"
    return out


def _promote_one(
    home: Home, con: duckdb.DuckDBPyConnection, source: Source, path: Path, run_id: str
) -> BatchOutcome | None:
    """One prepared file promoted (None: promoted by an earlier try of this night, which filed it away)."""
    started = time.perf_counter()
    folder = landing_folder(home, source, path)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except FileNotFoundError:
        if not path.exists():
            return None
        return BatchOutcome(shown(path.name), source, "", "skipped", reason="not prepared tonight; left in the inbox")
    taken = Taken.again(home, source, path, meta["sha256"])
    try:  # the same bytes as a file loaded before (on an earlier night, or tonight): logged and filed away
        out = _seen_before(con, home, taken, run_id) or _settle_prepared(home, con, taken, folder, meta, run_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out.seconds = time.perf_counter() - started
    return out


def _settle_prepared(
    home: Home, con: duckdb.DuckDBPyConnection, taken: Taken, folder: Path, meta: dict, run_id: str
) -> BatchOutcome:
    source, sha = taken.source, taken.sha256
    if refused := meta.get("refused"):
        out = BatchOutcome(taken.name, source, sha, "rejected", reason=f"{refused[0]}: {refused[1]}")
        with transaction(con):
            _log(con, out, run_id)
        out.warnings = file_away(home, taken, tuple(refused))
        return out
    tonight, marked, text = (f"{name}_{sha[:16]}" for name in ("tonight", "marked", "text"))
    batch, quarantine, keys = (sql_literal(folder / f"{name}.parquet") for name in ("batch", "quarantine", "keys"))
    # `prepare` saw raw as it stood before tonight: a row whose key a batch promoted earlier tonight loaded is a
    # duplicate the row rules would have found, an accepted row (`tonight`) as a quarantined one (`marked`)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {tonight} AS {_in_raw(source, f'read_parquet({batch})')}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {marked} AS {_in_raw(source, f'read_parquet({keys})')}")
    try:
        (duplicates,) = con.execute(f"SELECT count(*) FROM {tonight}").fetchone()
        info = None
        if duplicates:  # quarantined with their values as sent: the private copy is read again
            again = _private_copy(home, taken)
            if isinstance(again, BatchOutcome):
                return again
            taken = again
            try:
                info = _read(con, taken, text)  # before the transaction: see read_into
            except FileRefused as refused:
                return _refused(con, home, taken, run_id, refused)
        tables = (batch, quarantine, tonight, marked)
        return _promote_batch(home, con, taken, meta, run_id, tables, duplicates, text, info)
    finally:
        formats.drop_text(con, text)
        con.execute(f"DROP TABLE IF EXISTS {tonight}")
        con.execute(f"DROP TABLE IF EXISTS {marked}")


def _promote_batch(
    home: Home,
    con: duckdb.DuckDBPyConnection,
    taken: Taken,
    meta: dict,
    run_id: str,
    tables: tuple[str, str, str, str],
    duplicates: int,
    text: str,
    info: formats.FileInfo | None,
) -> BatchOutcome:
    """A prepared batch gated and promoted in one transaction, as the command line does
    (`wfm.ingest.batch._taken_at_once`): its rows go into raw first, Great Expectations' import going on
    meanwhile, and the gate reads them there; a batch it refuses is taken out before the commit. `tables`: the
    batch and its quarantine (Parquet), the batch's rows that are duplicates of tonight's earlier batches and the
    quarantined ones (TEMP tables of row numbers); `duplicates`: how many rows `tonight` holds; `text`: the file
    read again (`info`) when there are such rows."""
    source, sha = taken.source, taken.sha256
    batch, quarantine, tonight, marked = tables
    _, code = DUPLICATE_KEY[source]
    read, accepted = meta["rows_read"], meta["rows_accepted"] - duplicates
    out = BatchOutcome(taken.name, source, sha, "staged", read, accepted, read - accepted)
    with transaction(con):
        con.execute(
            f"INSERT INTO {RAW_TABLE[source]} SELECT b.* FROM read_parquet({batch}) b ANTI JOIN {tonight} USING "
            "(row_number)"
        )
        # a quarantined row gets the duplicate's reason last, as the row rules give it, unless it has it already
        con.execute(
            f"INSERT INTO audit.quarantine SELECT * REPLACE (CASE WHEN row_number IN (SELECT row_number FROM {marked}) "
            f"AND NOT list_contains(string_split(reasons, ','), '{code}') THEN reasons || ',{code}' "
            f"ELSE reasons END AS reasons) FROM read_parquet({quarantine})"
        )
        if info is not None:
            rows = f"SELECT row_number, '{code}' AS reasons FROM {tonight}"
            quarantine_rows(con, rows, text, info, sha, source, run_id, now())
        from wfm.gate import validate_batch  # waits for Great Expectations' import (`wfm.gate.gx`)

        with _batch_views(con, source, sha) as (rows, before):
            result = validate_batch(
                con, source=source, table=rows, batch_id=sha, run_id=run_id, home=home, docs=False, raw=before
            )
        _settle(con, out, result.success, list(result.failed_critical), run_id, meta["extra"])
    out.warnings = list(result.warnings)
    _file_away(home, taken, out)
    return out


def _in_raw(source: Source, rows: str) -> str:
    """SQL: the row numbers of `rows` (a table or a table function) whose key is a key of raw."""
    key, _ = DUPLICATE_KEY[source]
    same = " AND ".join(f"r.{k} = b.{k}" for k in key)
    return f"SELECT b.row_number FROM {rows} b WHERE EXISTS (SELECT 1 FROM {RAW_TABLE[source]} r WHERE {same})"


def _private_copy(home: Home, taken: Taken) -> Taken | BatchOutcome:
    """The file's private copy, taken again from the inbox if it is gone (the outcome when it cannot be)."""
    if taken.path.exists():
        return taken
    try:
        again = take(home, taken.source, taken.delivered)
    except NotTaken as no:
        return BatchOutcome(taken.name, taken.source, taken.sha256, no.outcome, reason=no.reason)
    if again.sha256 != taken.sha256:
        again.path.unlink()
        raise WfmError("the delivered file changed since it was prepared", file=taken.name, rule="promote")
    return again


def promote_prepared(home: Home, files: list[tuple[Source, Path]], run_id: str, echo=None) -> list[BatchOutcome]:
    """Promote the prepared files (what the DAG's writer task does): each source's in the order of `files` (the
    night's, as `new_files` listed them), the two sources side by side on the warehouse's connection, as the
    command line ingests them (`wfm.ingest.run._ingest_side_by_side`), Great Expectations imported meanwhile.
    A file with no landing folder (its preparation failed) stays in the inbox for the next night."""
    from wfm import gate
    from wfm.ingest.batch import open_warehouse
    from wfm.ingest.run import _ingest_side_by_side

    outcomes: dict[int, BatchOutcome] = {}
    with gate.loading_in_background():
        con = open_warehouse(home)
        try:
            with Nfkc(con):  # for the files done again the command line's way

                def step(cursor: duckdb.DuckDBPyConnection, source: Source, path: Path) -> BatchOutcome | None:
                    return _promote_one(home, cursor, source, path, run_id)

                _ingest_side_by_side(home, con, files, run_id, echo or (lambda _: None), outcomes, step=step)
        finally:
            con.close()
    return [outcomes[i] for i in sorted(outcomes)]


def night_summary(home: Home, run_id: str) -> dict:
    """The night's counts from the load log (whichever try of the writer task logged them): files per outcome,
    rows loaded, and each refused file with its reason."""
    from wfm.warehouse import connect as open_read_only

    con = open_read_only(home.warehouse, read_only=True)
    try:
        rows = con.execute(
            "SELECT file_name, outcome, rows_accepted, reason FROM audit.load_log WHERE run_id = ? ORDER BY ALL",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    summary: dict = {"files": len(rows), "rows_loaded": sum(r[2] or 0 for r in rows if r[1] == "loaded")}
    for _, outcome, _, _ in rows:
        summary[outcome] = summary.get(outcome, 0) + 1
    summary["refused"] = {name: reason for name, outcome, _, reason in rows if outcome == "rejected"}
    return summary
