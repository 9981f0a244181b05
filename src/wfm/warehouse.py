"""The warehouse file: connecting to it, and the raw and audit tables every stage writes.

DuckDB allows one writing process, so every writer goes through `connect()` here; readers use the published
snapshot instead (`wfm.publish`). `ensure_schema` is idempotent: each stage calls it before its first write.

Tables created here (dbt owns everything in `staging`, `intermediate` and `marts`):

- `raw.survey_responses`, `raw.enterprise_returns`: promoted rows, one column per contract column (typed,
  personal fields removed; the survey's ID number replaced by `person_key`), plus `batch_id` (the file's SHA-256),
  `row_number` (1-based data row in the file), `loaded_at` and `extra_columns` (columns outside the contract,
  kept as JSON).
- `landing`: a schema for batches between reading and promotion in the DuckDBs that prepare them apart
  (`wfm.ingest.prepared`); the warehouse's own stays empty.
- `audit.load_log`, `audit.quarantine`, `audit.validation_results`: as `interface.md` describes.
- `audit.builds`, `audit.built_batches`, `audit.build_periods`, `audit.built_relations`: what each build did,
  which promoted batches the indicator tables already hold, the periods the current build recomputes, and the
  tables and views the last successful full build made (see `wfm.build`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from wfm.contract import COLUMNS, RAW_TABLE, SQL_TYPE, Source, stored_columns
from wfm.errors import WfmError

#: DuckDB resources: both cores, and a memory cap well under the 6 GB budget of a national run. No vacuum in
#: checkpoints (`max_vacuum_tasks`): see dbt_project/profiles.yml, which sets the same for dbt's connections.
SETTINGS = {"threads": 2, "memory_limit": "4GB", "preserve_insertion_order": False, "max_vacuum_tasks": 0}


def sql_literal(value: object) -> str:
    """A SQL string literal for text or a path (single quotes doubled), for statements that take no parameters
    (ATTACH, COPY … TO, generated CASE lists)."""
    return "'" + str(value).replace("'", "''") + "'"


#: The warehouse schema dbt builds the marts in (dbt_project.yml: models.wfm.marts.+schema).
MARTS_SCHEMA = "marts"
#: What the operating system says, through DuckDB, when the warehouse's disk cannot take a write.
STORAGE_FAILURES = ("No space left on device", "Read-only file system", "Permission denied", "Disk quota exceeded")


def storage_failure(exc: BaseException) -> bool:
    """Whether a DuckDB error is the disk's (full, read-only, not ours), which an operator mends, not a bug."""
    return isinstance(exc, duckdb.IOException) or any(text in str(exc) for text in STORAGE_FAILURES)


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier (double quotes doubled): a name that comes from a delivery reaches SQL only so."""
    return '"' + name.replace('"', '""') + '"'


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    for key, value in SETTINGS.items():
        con.execute(f"SET {key} = {value!r}" if isinstance(value, str) else f"SET {key} = {value}")
    return con


def has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether the connection's own database (not one attached to it) holds the table or view `schema.name`."""
    # fetchall: a dbt Python model's session refuses further work while a result is left unfetched
    [(count,)] = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return count > 0


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a batch either lands whole or leaves no trace."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def contract_columns(source: Source) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the contract columns a raw table stores, in order."""
    cols = [(c.name, SQL_TYPE[c.kind]) for c in stored_columns(source)]
    if source == "survey":
        cols.insert(2, ("person_key", "VARCHAR"))  # HMAC-SHA256 of the ID number, where id_number stood
    return cols


def required_columns(source: Source) -> list[str]:
    """The raw table's contract columns declared NOT NULL: those whose value the row rules require (a row
    without one is quarantined as `<name>_required`), so DuckDB refuses a missing value that got past them."""
    return [c.name for c in stored_columns(source) if c.value_required]


def raw_columns_ddl(source: Source) -> str:
    required = set(required_columns(source))
    cols = [f"{name} {sql_type}{' NOT NULL' * (name in required)}" for name, sql_type in contract_columns(source)]
    return ",\n  ".join(
        [
            "batch_id VARCHAR NOT NULL",
            "row_number BIGINT NOT NULL",
            *cols,
            "extra_columns JSON",
            "loaded_at TIMESTAMP NOT NULL",
        ]
    )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS landing")
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    for source in COLUMNS:
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_TABLE[source]} (\n  {raw_columns_ddl(source)}\n)")
        _require_values(con, source)
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.load_log (
          file_name VARCHAR NOT NULL,
          file_sha256 VARCHAR NOT NULL,
          source VARCHAR NOT NULL,
          rows_read BIGINT,
          rows_accepted BIGINT,
          rows_quarantined BIGINT,
          outcome VARCHAR NOT NULL,       -- loaded | rejected | duplicate
          reason VARCHAR,
          run_id VARCHAR,
          loaded_at TIMESTAMP NOT NULL,
          encoding VARCHAR,
          file_format VARCHAR,
          form_metadata JSON              -- XLSX lines above the header (表号, 制定机关 …)
        )""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.quarantine (
          file_sha256 VARCHAR NOT NULL,
          source VARCHAR NOT NULL,
          row_number BIGINT NOT NULL,
          reasons VARCHAR NOT NULL,       -- comma-separated reason codes, e.g. uscc_check_digit
          row_masked JSON NOT NULL,       -- the row as sent, personal fields masked
          run_id VARCHAR,
          quarantined_at TIMESTAMP NOT NULL
        )""")
    _drop_staged_batches(con)
    ensure_build_tables(con)
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.validation_results (
          file_sha256 VARCHAR NOT NULL,
          suite VARCHAR NOT NULL,
          expectation VARCHAR NOT NULL,
          severity VARCHAR,
          success BOOLEAN NOT NULL,
          observed_value VARCHAR,
          run_id VARCHAR,
          checked_at TIMESTAMP NOT NULL
        )""")


def _drop_staged_batches(con: duckdb.DuckDBPyConnection) -> None:
    """Batches an earlier version staged (a landing table and a row in `audit.staged_batches`, between steps that
    committed apart) and a crash left unpromoted are dropped with that table: their delivered files are still in
    the inbox, and the next run ingests them from the start, in one transaction."""
    if not has_relation(con, "audit", "staged_batches"):
        return
    left = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'landing'"
    ).fetchall()
    with transaction(con):
        for (name,) in left:
            con.execute(f"DROP TABLE landing.{sql_identifier(name)}")
        con.execute("DROP TABLE audit.staged_batches")


def _require_values(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Declare the required columns NOT NULL in a raw table that lacks the constraint (DuckDB checks the rows
    it holds once, when the constraint is added; a table that has it already is left alone)."""
    schema, table = RAW_TABLE[source].split(".")
    nullable = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? AND is_nullable = 'YES'",
            [schema, table],
        ).fetchall()
    ]
    for name in required_columns(source):
        if name in nullable:
            try:
                con.execute(f"ALTER TABLE {RAW_TABLE[source]} ALTER COLUMN {name} SET NOT NULL")
            except duckdb.ConstraintException:
                raise WfmError(
                    f"{RAW_TABLE[source]} holds rows without {name}, which the row rules require; "
                    "the warehouse needs repair before anything is loaded",
                    column=name,
                    rule="raw_not_null",
                ) from None


def ensure_build_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The build's bookkeeping tables (wfm.build), alone: a build creates these and nothing else."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.builds (
          run_id VARCHAR,
          vintage TIMESTAMP NOT NULL,
          mode VARCHAR NOT NULL,          -- full | incremental
          fingerprint VARCHAR NOT NULL,   -- of the dbt project and reference data (wfm.build)
          periods JSON,                   -- {source: [period, …]} recomputed by an incremental build
          skipped VARCHAR[],              -- sources whose models it left out (nothing could have changed)
          success BOOLEAN NOT NULL,
          seconds DOUBLE,
          finished_at TIMESTAMP NOT NULL
        )""")
    # an audit.builds made without the column gets it (its builds then name no skipped source)
    con.execute("ALTER TABLE audit.builds ADD COLUMN IF NOT EXISTS skipped VARCHAR[]")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.built_batches (  -- promoted batches the indicator tables hold
          file_sha256 VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, vintage TIMESTAMP NOT NULL)""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.build_periods (  -- periods the running build recomputes (dbt reads it)
          source VARCHAR NOT NULL, period VARCHAR NOT NULL)""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS audit.built_relations (  -- the tables and views the last full build made
          schema_name VARCHAR NOT NULL, name VARCHAR NOT NULL)""")
