"""What the next build must do: every period (a full build) or only those of batches promoted since the last.
The first step of `wfm.build`, after ingestion has promoted batches to `raw`.

A build is full the first time, after any change to what the indicators are computed from (`FINGERPRINTED`),
when a table or view the last full build made is missing, or on request; otherwise it recomputes the periods of
new batches, and leaves out a source that brought nothing and whose statuses cannot have moved. `record` writes
what a build did to `audit.builds`, `audit.built_batches` and `audit.built_relations`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfm.build.project import DBT_DIR, dbt_paths, makes_relation
from wfm.config import PROJECT_DIR
from wfm.contract import PERIOD_COLUMN, RAW_TABLE
from wfm.warehouse import connect, transaction

if TYPE_CHECKING:
    from wfm.build.dbt import BuildResult

#: What the indicator tables are computed from besides the raw rows: the dbt project's models, macros and
#: seeds, the code lists the seeds load, the code macros (src/wfm/ingest/codes.sql) and the disclosure control the
#: Python models run (src/wfm/disclosure); and the singular tests, since an
#: incremental build leaves out those of seeds alone. A change to any of them makes the next build a full
#: one; otherwise a build recomputes only the periods of newly promoted batches. Their documentation (Markdown:
#: READMEs, dbt docs blocks) computes nothing and is left out.
_WFM_DIR = Path(__file__).resolve().parents[1]
FINGERPRINTED = (
    DBT_DIR / "dbt_project.yml",
    DBT_DIR / "models",
    DBT_DIR / "macros",
    DBT_DIR / "seeds",
    DBT_DIR / "tests",
    _WFM_DIR / "reference",
    _WFM_DIR / "ingest" / "codes.sql",
    _WFM_DIR / "disclosure",
)


@dataclass(frozen=True)
class BuildPlan:
    """What the next build must do: everything (`full`), or the periods of the batches not built yet."""

    full: bool
    fingerprint: str
    periods: dict[str, list[str]]
    batches: list[tuple[str, str]]  # (file_sha256, source) promoted since the last successful build
    skipped: list[str] = field(default_factory=list)  # sources whose models this build leaves out


def project_fingerprint() -> str:
    """SHA-256 over the dbt version and every file of `FINGERPRINTED` (path and bytes)."""
    # the installed distribution's version: the same string as dbt.version.__version__, without its import
    digest = hashlib.sha256(f"dbt {distribution_version('dbt-core')}\n".encode())
    for root in FINGERPRINTED:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.name.startswith(".") or path.suffix == ".md":
                continue
            digest.update(f"{path.relative_to(PROJECT_DIR if path.is_relative_to(PROJECT_DIR) else root)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def plan(con: Any, full_refresh: bool = False, vintage: datetime | None = None) -> BuildPlan:
    """Decide what the next build (stamped `vintage`, default now) recomputes, and write those periods to
    `audit.build_periods` for dbt. A source whose tables cannot have changed is left out (`skipped`)."""
    fingerprint = project_fingerprint()
    last = con.execute(
        "SELECT fingerprint FROM audit.builds WHERE success ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    # the raw tables themselves say which batches are new (whoever put them there), and their periods
    batches: list[tuple[str, str]] = []
    periods: dict[str, list[str]] = {}
    for source, table in RAW_TABLE.items():
        rows = con.execute(
            f"SELECT DISTINCT batch_id, {PERIOD_COLUMN[source]} FROM {table} "
            "WHERE batch_id NOT IN (SELECT file_sha256 FROM audit.built_batches)"
        ).fetchall()
        batches += sorted({(batch, source) for batch, _ in rows})
        periods[source] = sorted({period for _, period in rows})
    rows = [[source, period] for source, values in periods.items() for period in values]
    with transaction(con):
        con.execute("DELETE FROM audit.build_periods")
        if rows:  # executemany refuses an empty list
            con.executemany("INSERT INTO audit.build_periods VALUES (?, ?)", rows)
    full = full_refresh or last is None or last[0] != fingerprint or bool(missing_relations(con))
    vintage = vintage or datetime.now(UTC).replace(tzinfo=None)
    skipped = [] if full else [s for s in RAW_TABLE if not periods[s] and _unchanged_since_built(con, s, vintage)]
    return BuildPlan(full=full, fingerprint=fingerprint, periods=periods, batches=batches, skipped=skipped)


def missing_relations(con: Any) -> list[tuple[str, str]]:
    """(schema, name) of the tables and views the last successful full build made that the warehouse no longer
    holds (dropped by hand, say). An incremental build recreates neither the views nor the seeds, and would
    rebuild a missing table incremental by period whole but test only the new periods: so the build is full."""
    present = {(schema, name) for schema, name, _ in _present_relations(con)}
    built = con.execute("SELECT schema_name, name FROM audit.built_relations ORDER BY ALL").fetchall()
    return [relation for relation in built if relation not in present]


def _unchanged_since_built(con: Any, source: str, vintage: datetime) -> bool:
    """True when the tables of `source` (dbt tag) would come out as the last build that computed them left
    them: no batch since (the caller checked), and no period of the source entering or leaving its
    provisional window between that build's vintage and `vintage` (the only way the vintage reaches them)."""
    (since,) = con.execute(
        "SELECT max(vintage) FROM audit.builds WHERE success AND NOT list_contains(skipped, ?)", [source]
    ).fetchone()
    if since is None:
        return False
    return not provisional_window_crossed(con, source, since, vintage)


def provisional_window_crossed(con: Any, source: str, since: datetime, until: datetime) -> bool:
    """Whether some period of `source` is provisional at one of the two vintages and not at the other.

    A period is provisional until `provisional_days` (seed publication_rules) after its last day; the period's
    last day is computed as the dbt macro `period_end` does ('YYYY' → 31 December, 'YYYYQn' → the quarter's
    last day). Without the rule, assume it may have crossed.
    """
    rule = con.execute("SELECT value FROM reference.publication_rules WHERE rule = 'provisional_days'").fetchone()
    if rule is None:
        return True
    (crossed,) = con.execute(
        f"""
        WITH periods AS (SELECT DISTINCT {PERIOD_COLUMN[source]} AS period FROM {RAW_TABLE[source]}),
        ends AS (
            SELECT CASE WHEN length(period) = 4 THEN make_date(CAST(period AS INTEGER), 12, 31)
                   ELSE last_day(make_date(CAST(left(period, 4) AS INTEGER), CAST(right(period, 1) AS INTEGER) * 3, 1))
                   END + CAST(? AS INTEGER) AS final_day
            FROM periods
        )
        SELECT count(*) FROM ends WHERE (CAST(? AS DATE) < final_day) <> (CAST(? AS DATE) < final_day)""",
        [rule[0], since, until],
    ).fetchone()
    return crossed > 0


def record(
    warehouse: Path, build_plan: BuildPlan, result: BuildResult, made: frozenset[tuple[str, str]] | None = None
) -> None:
    """audit.builds gets the build; after a success, its batches count as built (a failed build's are
    recomputed by the next one), and after a successful full build the tables and views the project no longer
    makes are dropped (`leftover_relations`) and those it makes are listed in audit.built_relations
    (`missing_relations`); `made`: what the project makes, as a worker reports it."""
    con = connect(warehouse)
    try:
        with transaction(con):
            if result.success and build_plan.full:
                made = made if made is not None else _manifest_relations(warehouse)
                for schema, name, kind in leftover_relations(con, warehouse, made):
                    con.execute(f'DROP {kind} IF EXISTS "{schema}"."{name}"')
                if made is not None:
                    con.execute("DELETE FROM audit.built_relations")
                    if made:
                        con.executemany("INSERT INTO audit.built_relations VALUES (?, ?)", sorted(made))
            con.execute(
                "INSERT INTO audit.builds (run_id, vintage, mode, fingerprint, periods, skipped, success, seconds, "
                "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    result.run_id,
                    result.vintage,
                    result.mode,
                    build_plan.fingerprint,
                    json.dumps(result.periods),
                    result.skipped,
                    result.success,
                    result.elapsed,
                    datetime.now(UTC).replace(tzinfo=None),
                ],
            )
            if result.success and build_plan.batches:
                con.executemany(
                    "INSERT OR IGNORE INTO audit.built_batches VALUES (?, ?, ?)",
                    [[sha, source, result.vintage] for sha, source in build_plan.batches],
                )
    finally:
        con.close()


def leftover_relations(
    con: Any, warehouse: Path, made: frozenset[tuple[str, str]] | None = None
) -> list[tuple[str, str, str]]:
    """(schema, name, TABLE or VIEW) of what the schemas dbt builds into hold beyond the project's models and
    seeds, read on `con` and from the manifest of the build just run (or `made`, the (schema, name) pairs it
    makes). A model removed or renamed in the project leaves its last table behind (dbt never drops what it no
    longer builds), and readers would take its stale rows for current ones. Only a change of the project can
    leave one, and a changed project makes the build full, so full builds look. The other schemas (raw, audit,
    ref) are wfm's own and untouched; without a manifest nothing is known to be left over, and nothing is
    dropped."""
    made = made if made is not None else _manifest_relations(warehouse)
    if made is None:
        return []
    schemas = {schema for schema, _ in made}
    return [
        (schema, name, kind)
        for schema, name, kind in _present_relations(con)
        if schema in schemas and (schema, name) not in made
    ]


def _present_relations(con: Any) -> list[tuple[str, str, str]]:
    """(schema, name, TABLE or VIEW) of every table and view the warehouse holds (its own schemas and dbt's)."""
    return con.execute(
        "SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary "
        "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT temporary ORDER BY 1, 2"
    ).fetchall()


def _manifest_relations(warehouse: Path) -> frozenset[tuple[str, str]] | None:
    """(schema, name) of every table and view the project makes, from the manifest the last build wrote (None
    without one)."""
    path = dbt_paths(warehouse)[0] / "manifest.json"
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if makes_relation(node["resource_type"], node["config"].get("materialized"))
    )
