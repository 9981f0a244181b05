"""Exports: the published indicators in the files statisticians, SDMX tools and spreadsheets take.

This is the last room of the flow (`… → marts → publish`). `wfm.publish` calls `write_exports` with the finished
snapshot file of a new version and that version's `exports/` folder, before the version is switched in: the
exports are made from the snapshot alone, so they show exactly what it shows, and readers get both, whole, at the
same instant (`published/exports` → `published/current/exports`).

- `indicator_values.sdmx.csv`: SDMX-CSV 2.0 (as pysdmx writes it), one row per row of `indicator_values`;
- `structure.sdmx.xml`: SDMX-ML 3.0 structure message — the code lists (CL_INDICATOR is the registry), the
  concepts and the data structure the SDMX-CSV refers to, names in Chinese and English;
- `indicator_values.csv`, `indicator_registry.csv`: the two contract tables as CSV (UTF-8 with a BOM, so that
  Excel reads the Chinese);
- `indicator_changes.csv`, `indicator_changes.sdmx.csv`: the changes between periods, as CSV and SDMX-CSV 2.0
  (data structure `DSD_WFM_CHANGES` of the same structure message);
- `headline_tables.xlsx`: the national value of every indicator for its latest period, a sheet per theme, and a
  README sheet (`excel`);
- `bulletin.html`: the monitoring bulletin, charts and tables in Chinese with English labels (`bulletin`).

Every file obeys the two rules of `safety`: no figure for a suppressed cell, no text a spreadsheet would run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import duckdb

from wfm.publish.bulletin import write_bulletin
from wfm.publish.bulletin_read import Target
from wfm.publish.excel import Rules, write_excel
from wfm.publish.safety import FIGURES, check_no_suppressed_figures_sql
from wfm.publish.sdmx import sdmx_structures, structure_ml, write_sdmx_csv
from wfm.publish.text import query_csv
from wfm.warehouse import sql_literal

FILES = {
    "sdmx_csv": "indicator_values.sdmx.csv",
    "sdmx_structure": "structure.sdmx.xml",
    "values_csv": "indicator_values.csv",
    "registry_csv": "indicator_registry.csv",
    "excel": "headline_tables.xlsx",
    "bulletin": "bulletin.html",
}
CHANGE_FILES = {"changes_sdmx_csv": "indicator_changes.sdmx.csv", "changes_csv": "indicator_changes.csv"}
#: The key order of each published table's rows in its files.
ORDER = {
    "indicator_values": "indicator_code, period, scope, source, breakdown, member",
    "indicator_changes": "indicator_code, period, base_period, scope, source, breakdown, member",
}


def _mask(con: duckdb.DuckDBPyConnection, table: str = "indicator_values") -> str:
    """Create the view `masked` (`masked_<table>` for another table): the snapshot's `table` with suppressed
    cells' figures emptied, and return its name. Every file reads this view, so there is one masking; the view
    is checked once more, as it will be written."""
    present = [r[0] for r in con.execute(f"DESCRIBE snap.{table}").fetchall()]
    figures = [c for c in FIGURES if c in present]
    replace = ", ".join(f"CASE WHEN conf_status IN ('C', 'D') THEN NULL ELSE {c} END AS {c}" for c in figures)
    view = "masked" if table == "indicator_values" else f"masked_{table}"
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT * REPLACE ({replace}) FROM snap.{table}")
    check_no_suppressed_figures_sql(con, view, figures, table)
    return view


def _columns(order: str) -> list[str]:
    return [c.strip() for c in order.split(",")]


def write_csv(con: duckdb.DuckDBPyConnection, path: Path, query: str, order: str) -> None:
    """A CSV a spreadsheet can open safely: UTF-8 with BOM, text defused, numbers as numbers (`text.query_csv`)."""
    query_csv(con, path, query, order)


def write_exports(
    snapshot: Path,
    out: Path,
    *,
    version: str = "",
    rules: Mapping[str, float] | None = None,
    targets: Mapping[str, Target] | None = None,
    previous: Path | None = None,
    chart_cache: Path | None = None,
) -> list[Path]:
    """Write every export of the snapshot file `snapshot` into the new folder `out`; return the files written.
    `version` and `rules` (the publication rules in force) only feed the README sheet; `targets` (the craftsmen
    paths), `previous` (the snapshot of the publication before, for its revisions) and `chart_cache` (where its
    charts are remembered, `charts.Charts`) the bulletin."""
    out.mkdir(parents=True, exist_ok=False)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {sql_literal(snapshot)} AS snap (READ_ONLY)")
        masked = _mask(con)
        cur = con.execute("SELECT * FROM snap.indicator_registry ORDER BY indicator_code")
        reg_columns, registry = [d[0] for d in cur.description], cur.fetchall()
        registry_dicts = [dict(zip(reg_columns, r, strict=True)) for r in registry]
        vintage = con.execute("SELECT max(vintage) FROM snap.indicator_values").fetchall()[0][0]
        structures = sdmx_structures(registry_dicts)

        paths = {key: out / name for key, name in FILES.items()}
        write_sdmx_csv(
            con,
            paths["sdmx_csv"],
            structures,
            masked,
            _columns(ORDER["indicator_values"]),
            registry="snap.indicator_registry",
        )
        paths["sdmx_structure"].write_bytes(structure_ml(structures, dt.datetime.now(dt.UTC)))
        write_csv(con, paths["values_csv"], f"SELECT * FROM {masked}", ORDER["indicator_values"])
        write_csv(con, paths["registry_csv"], "SELECT * FROM snap.indicator_registry", "indicator_code")
        stamp = "" if vintage is None else vintage.isoformat(sep=" ", timespec="microseconds")
        write_excel(paths["excel"], con, stamp, version, Rules(rules))
        cv_low = (rules or {}).get("cv_low")
        write_bulletin(
            con,
            paths["bulletin"],
            version=version,
            vintage=stamp,
            targets=targets,
            previous=previous,
            cv_low=cv_low,
            chart_cache=chart_cache,
        )
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap'").fetchall()
        }
        if "indicator_changes" in tables:
            changes = _mask(con, "indicator_changes")
            paths.update({key: out / name for key, name in CHANGE_FILES.items()})
            write_sdmx_csv(
                con, paths["changes_sdmx_csv"], structures, changes, _columns(ORDER["indicator_changes"]), changes=True
            )
            write_csv(con, paths["changes_csv"], f"SELECT * FROM {changes}", ORDER["indicator_changes"])
        return list(paths.values())
    finally:
        con.close()
