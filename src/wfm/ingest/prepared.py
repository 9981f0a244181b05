"""The night scaled out: each file prepared on any worker, in parallel; then one writer promotes them all.

    inbox/<source>/FILE ─prepare (any worker, no writer)─▶ landing/<key>/ batch.parquet, quarantine.parquet, meta.json
        ─promote (the one writer, every file in one process)─▶ gate ─▶ raw.<table> + audit + archive/ or rejected/

`prepare` takes the file, reads, types and checks it row by row and pseudonymises it exactly as the command line
does, in a DuckDB of its own in memory that sees the warehouse's raw tables read-only (duplicates of rows loaded
on earlier nights go to quarantine there); it writes the accepted rows (raw's columns, ID numbers hashed) and the
quarantined rows (personal data masked) as Parquet, and nothing in clear. Many can run at once: DuckDB lets any
number of processes open a file read-only while none writes it.

`promote` holds the warehouse, and takes the prepared files in their night's order, each in one transaction: the
same bytes as a loaded file are a duplicate; a file refused whole when it was read is logged and set aside; a
batch is gated against raw as it stands (tonight's earlier batches included), promoted or refused, its
quarantine kept. Only what `prepare` could not see is done again: a batch with a row whose key a file promoted
earlier tonight loaded is ingested from its private copy the command line's way
(`wfm.ingest.batch.ingest_file` with the connection), so both paths leave the same rows.
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
    _log,
    _read,
    _seen_before,
    _staged,
    _take,
    _taken_at_once,
)
from wfm.ingest.inbox import NotTaken, Taken, file_away, take
from wfm.ingest.normalize import Nfkc
from wfm.ingest.rules import DUPLICATE_KEY
from wfm.ingest.staging import file_extra
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
            out = _staged(con, taken, run_id, text, info, landing)
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
        out = _seen_before(con, home, taken, run_id) or _settle_prepared(
            home, con, taken, folder, meta, run_id, started
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out.seconds = time.perf_counter() - started
    return out


def _settle_prepared(
    home: Home, con: duckdb.DuckDBPyConnection, taken: Taken, folder: Path, meta: dict, run_id: str, started: float
) -> BatchOutcome:
    source, sha = taken.source, taken.sha256
    if refused := meta.get("refused"):
        out = BatchOutcome(taken.name, source, sha, "rejected", reason=f"{refused[0]}: {refused[1]}")
        with transaction(con):
            _log(con, out, run_id)
        out.warnings = file_away(home, taken, tuple(refused))
        return out
    batch = f"prepared_{sha[:16]}"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {batch} AS SELECT * FROM read_parquet({sql_literal(folder / 'batch.parquet')})"
    )
    try:
        if _collides(con, source, batch):
            return _again(home, con, taken, run_id, started)
        from wfm.gate import validate_batch

        read, accepted = meta["rows_read"], meta["rows_accepted"]
        out = BatchOutcome(taken.name, source, sha, "staged", read, accepted, read - accepted)
        with transaction(con):
            result = validate_batch(con, source=source, table=batch, batch_id=sha, run_id=run_id, home=home, docs=False)
            quarantine = sql_literal(folder / "quarantine.parquet")
            con.execute(f"INSERT INTO audit.quarantine SELECT * FROM read_parquet({quarantine})")
            if result.success:
                con.execute(f"INSERT INTO {RAW_TABLE[source]} SELECT * FROM {batch}")
                out.outcome = "loaded"
            else:
                out.outcome, out.rows_accepted = "rejected", 0
                out.reason = "gate: " + ", ".join(result.failed_critical)
            _log(con, out, run_id, meta["extra"])
    finally:
        con.execute(f"DROP VIEW IF EXISTS {batch}")
    refused = None if out.outcome == "loaded" else ("gate", out.reason or "gate")
    out.warnings = list(result.warnings) + file_away(home, taken, refused)
    return out


def _collides(con: duckdb.DuckDBPyConnection, source: Source, batch: str) -> bool:
    """Whether an accepted row has the key of a row in raw now: one a file promoted earlier tonight loaded,
    which `prepare` could not see, and which the row rules would have sent to quarantine."""
    key, _ = DUPLICATE_KEY[source]
    same = " AND ".join(f"r.{k} = b.{k}" for k in key)
    query = f"SELECT 1 FROM {batch} b WHERE EXISTS (SELECT 1 FROM {RAW_TABLE[source]} r WHERE {same}) LIMIT 1"
    return con.execute(query).fetchone() is not None


def _again(home: Home, con: duckdb.DuckDBPyConnection, taken: Taken, run_id: str, started: float) -> BatchOutcome:
    """The file ingested from its private copy the command line's way (taken again if the copy is gone)."""
    if not taken.path.exists():
        try:
            again = take(home, taken.source, taken.delivered)
        except NotTaken as no:
            return BatchOutcome(taken.name, taken.source, taken.sha256, no.outcome, reason=no.reason)
        if again.sha256 != taken.sha256:
            again.path.unlink()
            raise WfmError("the delivered file changed since it was prepared", file=taken.name, rule="promote")
        taken = again
    return _taken_at_once(home, taken, run_id, False, con, started)


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
