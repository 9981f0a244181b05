"""Publishing: the readers' copy of the marts, replaced atomically, so nobody waits or sees half a night's work.

DuckDB lets one process write a file and blocks other processes from opening it meanwhile, so statisticians and
BI tools never read `warehouse.duckdb`. After a successful build and marts gate, `publish` writes a complete
snapshot of the published marts to a new file beside `published/marts.duckdb`, checkpoints and closes it, then
renames it over the old one. A rename is atomic on POSIX: a reader opening the path gets either the old file or the
new one, whole; a reader that already had the old file open keeps reading it (its inode lives until closed).

The same tables go to `published/parquet/<table>/`, through a symlink `published/parquet` that is swapped
atomically to a new folder of the vintage; the previous folder is removed once the link points away from it.

Tables that are not for publication (the inspectorate's compliance list) stay in the warehouse.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from wfm.config import Home
from wfm.errors import WfmError
from wfm.warehouse import connect

#: The contract tables of interface.md, always published.
CONTRACT_TABLES = ("indicator_registry", "indicator_values", "indicator_revisions")
#: Built for internal use only: never copied to the readers' side.
UNPUBLISHED = frozenset({"enterprise_compliance_list"})


#: The warehouse schema dbt builds the marts in (dbt_project.yml: models.wfm.marts.+schema).
MARTS_SCHEMA = "marts"


def published_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND table_schema = ? "
        "AND table_type = 'BASE TABLE'", [schema]).fetchall()}
    missing = [t for t in CONTRACT_TABLES if t not in present]
    if missing:
        raise WfmError(f"nothing to publish: the marts lack {', '.join(missing)} (run wfm build first)",
                       rule="publish")
    return [*CONTRACT_TABLES, *sorted(present - set(CONTRACT_TABLES) - UNPUBLISHED)]


def _swap_symlink(link: Path, target: Path) -> Path | None:
    """Point `link` at `target` atomically; return the folder it pointed to before (if any)."""
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # an old real folder from an earlier layout: move it aside
        aside = link.with_name(f"{link.name}-legacy-{uuid.uuid4().hex[:8]}")
        link.rename(aside)
        previous = aside
    tmp_link = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    tmp_link.symlink_to(target.name)
    os.replace(tmp_link, link)
    return previous


def publish(home: Home) -> Path:
    """Write the snapshot and the Parquet copy of the published marts; return the snapshot's path."""
    home.published.mkdir(parents=True, exist_ok=True)
    snapshot = home.published / "marts.duckdb"
    token = uuid.uuid4().hex[:12]
    tmp = home.published / f".marts.{token}.duckdb"
    parquet_dir = home.published / f"parquet-{token}"
    schema = MARTS_SCHEMA
    if not home.warehouse.exists():
        raise WfmError("nothing to publish: no warehouse yet (run wfm ingest and wfm build first)", rule="publish")
    # An in-memory session attaching the warehouse read-only and the new snapshot read-write.
    con = connect(":memory:")
    try:
        con.execute(f"ATTACH '{home.warehouse}' AS wh (READ_ONLY)")
        tables = published_tables(con, schema)
        con.execute(f"ATTACH '{tmp}' AS snap")
        parquet_dir.mkdir()
        for table in tables:
            con.execute(f'CREATE TABLE snap."{table}" AS SELECT * FROM wh."{schema}"."{table}"')
            if _has_column(con, schema, table, "period"):
                con.execute(f"COPY snap.\"{table}\" TO '{parquet_dir / table}' (FORMAT parquet, PARTITION_BY (period))")
            else:
                (parquet_dir / table).mkdir()
                con.execute(f"COPY snap.\"{table}\" TO '{parquet_dir / table / 'data.parquet'}' (FORMAT parquet)")
        con.execute("CHECKPOINT snap")
        con.execute("DETACH snap")
    except BaseException:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        raise
    finally:
        con.close()
    os.replace(tmp, snapshot)
    previous = _swap_symlink(home.published / "parquet", parquet_dir)
    if previous and previous != parquet_dir.resolve():
        shutil.rmtree(previous, ignore_errors=True)
    return snapshot


def _has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.columns WHERE table_catalog = 'wh' "
                            "AND table_schema = ? AND table_name = ? AND column_name = ?",
                            [schema, table, column]).fetchone())
