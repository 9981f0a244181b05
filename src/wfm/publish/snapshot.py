"""Publishing: the readers' copy of the marts, switched in atomically, so nobody waits or sees half a night's work.

The last room of the flow (`… → marts → gate → publish`): `wfm.night.run_nightly` and the DAG's publish task call
`publish` after a successful build and marts gate; a failed build never gets here, and the last good version
stays in place.

DuckDB lets one process write a file and blocks other processes from opening it meanwhile, so statisticians and
BI tools never read `warehouse.duckdb`. `publish` writes a complete new *version* beside the one readers use —
the snapshot file, the same tables as Parquet, the exports (`wfm.publish.exports`) and last a `manifest.json` — flushes
it to disk, then makes it current with one rename:

    published/versions/<id>/           marts.duckdb, parquet/<table>/…, exports/…, manifest.json
    published/current  -> versions/<id>      replaced by rename(2) of a new link: the one switch
    published/marts.duckdb -> current/marts.duckdb
    published/parquet      -> current/parquet
    published/exports      -> current/exports

A rename is atomic on POSIX: a reader resolving any of these paths gets the old version or the new one, whole,
and the three always agree. A reader that already has the old snapshot open keeps reading it: its file is
neither rewritten nor (until two publications later) even unlinked, and an unlinked file lives until closed.

Why versions rather than renaming a new file over `marts.duckdb`: that would make the snapshot atomic, but the
Parquet folder would be swapped separately and the previous one deleted at once, so a BI query that had listed
the old files would fail opening them, and a reader could pair one night's snapshot with another's Parquet. With
versions the previous one is kept until the next publication, and one link switches everything. A `published/`
folder in the unversioned layout (a real `marts.duckdb` file and `parquet/` folder, no `current`) is converted
by its next publish.

Only one publish runs at a time (a lock file); at its start it removes what a killed run left behind (versions
without a manifest, temporary links), so a crash at any point leaves the last good version current and the next
run clean. Tables that are not for publication (the inspectorate's compliance list) stay in the warehouse, and a
suppressed cell that carries a figure stops the publication. Before anything is written, the disclosure audit
(`wfm.disclosure.publication`) computes what an attacker gets from everything that would be published, stores
it in `audit.disclosure_audit`, and refuses the publication, naming the cells, when a confidential figure lies
within its protection level.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from wfm.config import WAREHOUSE_FILE, Home
from wfm.disclosure import publication
from wfm.errors import WfmError
from wfm.publish import exports
from wfm.publish.bulletin_read import Target
from wfm.warehouse import MARTS_SCHEMA, connect, sql_literal

#: The contract tables of interface.md, always published.
CONTRACT_TABLES = ("indicator_registry", "indicator_values", "indicator_revisions")
#: Built for internal use only: never copied to the readers' side.
UNPUBLISHED = frozenset({"enterprise_compliance_list"})
#: The name the warehouse is attached under while publishing: the one dbt knows it by (its file's stem),
#: since the views of the marts (the dashboard themes) name their tables with it.
WAREHOUSE = Path(WAREHOUSE_FILE).stem
#: Where dbt loads the seeds, among them the publication rules the exports' README explains.
REFERENCE_SCHEMA = "reference"

#: What readers open, each a link through `current` (see the module doc).
STABLE_LINKS = ("marts.duckdb", "parquet", "exports")
MANIFEST = "manifest.json"


def published_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
            "AND table_type IN ('BASE TABLE', 'VIEW')",
            [WAREHOUSE, schema],
        ).fetchall()
    }
    missing = [t for t in CONTRACT_TABLES if t not in present]
    if missing:
        raise WfmError(f"nothing to publish: the marts lack {', '.join(missing)} (run wfm build first)", rule="publish")
    return [*CONTRACT_TABLES, *sorted(present - set(CONTRACT_TABLES) - UNPUBLISHED)]


def publish(home: Home, echo: Callable[[str], None] | None = None) -> Path:
    """Audit, then write a new version of the published marts and exports, switch it in; return the snapshot's
    path. `echo` gets the audit's summary line."""
    if not home.warehouse.exists():
        raise WfmError("nothing to publish: no warehouse yet (run wfm ingest and wfm build first)", rule="publish")
    published = home.published
    (published / "versions").mkdir(parents=True, exist_ok=True)
    with _exclusive(published):
        clean_stale(published)
        version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]
        folder = published / "versions" / version
        audit_disclosure(home, version, echo)
        try:
            write_version(home, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # a killed run cannot do this; clean_stale does it next time
            raise
        previous = switch(published, folder)
        prune(published, keep={folder.name, previous})
    return published / "marts.duckdb"


@contextlib.contextmanager
def _exclusive(published: Path) -> Iterator[None]:
    """One publish at a time: the DAG's writer pool already serialises its tasks, but `wfm publish` by hand may
    meet it, and each would take the other's half-written version for a killed run's debris. The lock dies with
    its process, so a killed publish never blocks the next."""
    with (published / ".publish.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WfmError(
                "another wfm publish is running on this home; try again when it has finished",
                file=str(published),
                rule="publish_lock",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_version(home: Home, folder: Path) -> None:
    """The complete new version in `folder`: snapshot, Parquet, exports, then the manifest that marks it whole."""
    folder.mkdir()
    snapshot = folder / "marts.duckdb"
    # An in-memory session attaching the warehouse read-only and the new snapshot read-write.
    con = connect(":memory:")
    try:
        con.execute(f"ATTACH {sql_literal(home.warehouse)} AS {WAREHOUSE} (READ_ONLY)")
        tables = published_tables(con, MARTS_SCHEMA)
        check_disclosure(con, MARTS_SCHEMA)
        rules = _publication_rules(con)
        targets = _craftsmen_targets(con)
        con.execute(f"ATTACH {sql_literal(snapshot)} AS snap")
        (folder / "parquet").mkdir()
        rows = {}
        for table in tables:
            rows[table] = copy_table(con, table)
            write_parquet(con, table, folder / "parquet" / table)
        con.execute("CHECKPOINT snap")
        vintage = con.execute("SELECT max(vintage) FROM snap.indicator_values").fetchone()[0]
        con.execute("DETACH snap")
    finally:
        con.close()
    previous = home.published / "current" / "marts.duckdb"  # still the version before this one
    files = exports.write_exports(
        snapshot,
        folder / "exports",
        version=folder.name,
        rules=rules,
        targets=targets,
        previous=previous.resolve() if previous.exists() else None,
        chart_cache=home.chart_cache,
    )
    _fsync_tree(folder)
    manifest = {
        "version": folder.name,
        "vintage": None if vintage is None else vintage.isoformat(sep=" ", timespec="microseconds"),
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": rows,
        "exports": [p.name for p in files],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _fsync(folder / MANIFEST)
    _fsync(folder)


def audit_disclosure(home: Home, version: str, echo: Callable[[str], None] | None = None) -> None:
    """The attacker's audit of what this version would publish, stored in audit.disclosure_audit; raises
    WfmError naming the cells when any confidential figure is recoverable within its protection level."""
    con = connect(home.warehouse)
    try:
        result = publication.audit_warehouse(con)
        publication.record(con, result, version)
    finally:
        con.close()
    if echo is not None:
        echo(publication.summary(result))
    reason = publication.refusal(result)
    if reason is not None:
        raise WfmError(reason, rule="disclosure_audit")


def check_disclosure(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Refuse to publish a suppressed cell (conf_status C or D) that carries a figure: the marts gate should have
    stopped it, but the snapshot goes out as built, so publish checks once more. se, interval and CV count: with
    the CV, the se gives the value back."""
    for table in ("indicator_values", "indicator_revisions", "indicator_changes"):
        columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
                "AND table_name = ?",
                [WAREHOUSE, schema, table],
            ).fetchall()
        }
        figures = [c for c in exports.FIGURES if c in columns]
        if "conf_status" not in columns or not figures:
            continue
        leak = con.execute(
            f"SELECT count(*) FROM {WAREHOUSE}.\"{schema}\".\"{table}\" WHERE conf_status IN ('C', 'D') "
            f"AND ({' OR '.join(f'{c} IS NOT NULL' for c in figures)})"
        ).fetchone()[0]
        if leak:
            raise WfmError(
                f"refusing to publish: {leak} suppressed cell(s) in {schema}.{table} carry a figure "
                f"({', '.join(figures)} must be null when conf_status is C or D)",
                rule="disclosure",
            )


def copy_table(con: duckdb.DuckDBPyConnection, table: str) -> int:
    con.execute(f'CREATE TABLE snap."{table}" AS SELECT * FROM {WAREHOUSE}."{MARTS_SCHEMA}"."{table}"')
    return con.execute(f'SELECT count(*) FROM snap."{table}"').fetchone()[0]


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> None:
    """Partitioned by period when the table has one; an empty table still gets a file, so that a reader's glob
    finds its columns instead of failing on an empty folder."""
    partitioned = bool(
        con.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_catalog = 'snap' AND table_name = ? "
            "AND column_name = 'period'",
            [table],
        ).fetchone()
    )
    empty = con.execute(f'SELECT count(*) = 0 FROM snap."{table}"').fetchone()[0]
    if partitioned and not empty:
        con.execute(f'COPY snap."{table}" TO {sql_literal(folder)} (FORMAT parquet, PARTITION_BY (period))')
    else:
        folder.mkdir()
        con.execute(f'COPY snap."{table}" TO {sql_literal(folder / "data.parquet")} (FORMAT parquet)')


def _has_seed(con: duckdb.DuckDBPyConnection, seed: str) -> bool:
    return bool(
        con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
            [WAREHOUSE, REFERENCE_SCHEMA, seed],
        ).fetchone()
    )


def _publication_rules(con: duckdb.DuckDBPyConnection) -> dict[str, float] | None:
    """The seed publication_rules as {rule: value}, for the exports' README; None if the warehouse lacks it."""
    if not _has_seed(con, "publication_rules"):
        return None
    return dict(con.execute(f'SELECT rule, value FROM {WAREHOUSE}."{REFERENCE_SCHEMA}".publication_rules').fetchall())


def _craftsmen_targets(con: duckdb.DuckDBPyConnection) -> dict[str, Target]:
    """The straight-line paths of the craftsmen counts (seed indicator_targets, valid today), for the bulletin;
    empty if the warehouse lacks the seed."""
    if not _has_seed(con, "indicator_targets"):
        return {}
    rows = con.execute(
        f"""
        SELECT t.indicator_code, t.value, t.target_year, b.target_year, coalesce(b.value, 0)
        FROM {WAREHOUSE}."{REFERENCE_SCHEMA}".indicator_targets t
        JOIN {WAREHOUSE}."{REFERENCE_SCHEMA}".indicator_targets b
          ON b.indicator_code = t.indicator_code AND b.kind = 'base'
             AND current_date BETWEEN b.valid_from AND coalesce(b.valid_to, DATE '9999-12-31')
        WHERE t.kind = 'target' AND t.indicator_code IN ('TAL01', 'TAL02', 'TAL03')
          AND current_date BETWEEN t.valid_from AND coalesce(t.valid_to, DATE '9999-12-31')
        """
    ).fetchall()
    return {code: Target(value, int(year), int(base_year), base) for code, value, year, base_year, base in rows}


def switch(published: Path, folder: Path) -> str | None:
    """Make `folder` the current version (one atomic rename); return the name of the version it replaces."""
    current = published / "current"
    previous = Path(os.readlink(current)).name if current.is_symlink() else None
    _link(current, f"versions/{folder.name}")
    # Normally already in place (no-ops); in the unversioned layout, these renames replace the real file and
    # folders by links, after `current` exists, so they never point into nothing.
    for name in STABLE_LINKS:
        _link(published / name, f"current/{name}")
    _fsync(published)
    return previous


def _link(link: Path, target: str) -> None:
    """Make `link` a symlink to `target` by renaming a new link over it: readers see the old or the new."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_dir() and not link.is_symlink():  # a real folder of the unversioned layout: rename cannot replace it
        link.rename(link.with_name(f".legacy-{link.name}-{uuid.uuid4().hex[:8]}"))
    tmp = link.with_name(f".tmp-link-{link.name}-{uuid.uuid4().hex[:8]}")
    tmp.symlink_to(target)
    os.replace(tmp, link)


def clean_stale(published: Path) -> None:
    """Remove what killed runs left: unfinished versions, temporary links and files, and the folders of the
    unversioned layout once no link points at them. Runs under the publish lock, so nothing here is another
    run's work."""
    current = published / "current"
    live = Path(os.readlink(current)).name if current.is_symlink() else None
    for folder in (published / "versions").iterdir():
        if folder.name != live and not (folder / MANIFEST).exists():
            shutil.rmtree(folder, ignore_errors=True)
    targets = {os.readlink(p) for p in published.iterdir() if p.is_symlink()}
    for path in published.iterdir():
        if path.name.startswith((".tmp-link-", ".marts.")):  # ours, and the unversioned layout's temporary snapshots
            path.unlink(missing_ok=True)
        elif path.name.startswith((".legacy-", "parquet-")) and path.name not in targets:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def prune(published: Path, keep: set[str | None]) -> None:
    """Keep the current and the previous version, delete older ones. The previous stays because a Parquet reader
    opens files one by one: one that listed them just before the switch must still find them."""
    for folder in (published / "versions").iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder of the version before the switch, so a power cut cannot leave `current`
    pointing at a version whose blocks never reached the disk."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            _fsync(Path(root) / name)
        for name in dirs:
            _fsync(Path(root) / name)
    _fsync(folder)
