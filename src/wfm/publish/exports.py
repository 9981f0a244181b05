"""Exports: the published indicators in the files statisticians, SDMX tools and spreadsheets take.

This is the last room of the flow (`… → marts → publish`). `wfm.publish` calls `write_exports` with the finished
snapshot file of a new version and that version's `exports/` folder, before the version is switched in: the
exports are made from the snapshot alone, so they show exactly what it shows, and readers get both, whole, at the
same instant (`published/exports` → `published/current/exports`).

- `indicator_values.sdmx.csv`: SDMX-CSV 2.0 (written by pysdmx), one row per row of `indicator_values`;
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

import csv
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from wfm.publish.bulletin import write_bulletin
from wfm.publish.bulletin_read import Target
from wfm.publish.excel import Rules, write_excel
from wfm.publish.safety import FIGURES, check_no_suppressed_figures, defuse
from wfm.publish.sdmx import sdmx_structures, structure_ml, write_sdmx_csv
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


def _mask(con: duckdb.DuckDBPyConnection, table: str = "indicator_values") -> tuple[list[str], list[tuple]]:
    """Create the view `masked` (`masked_<table>` for another table): the snapshot's `table` with suppressed
    cells' figures emptied. Every file reads this view, so there is one masking; return its rows in key order."""
    present = [r[0] for r in con.execute(f"DESCRIBE snap.{table}").fetchall()]
    replace = ", ".join(
        f"CASE WHEN conf_status IN ('C', 'D') THEN NULL ELSE {c} END AS {c}" for c in FIGURES if c in present
    )
    view = "masked" if table == "indicator_values" else f"masked_{table}"
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT * REPLACE ({replace}) FROM snap.{table}")
    cur = con.execute(f"SELECT * FROM {view} ORDER BY {ORDER[table]}")
    return [d[0] for d in cur.description], cur.fetchall()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)  # int, float (shortest round-trip repr), date, Decimal: never a formula


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV a spreadsheet can open safely: UTF-8 with BOM, text defused, numbers as numbers."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)


def write_exports(
    snapshot: Path,
    out: Path,
    *,
    version: str = "",
    rules: Mapping[str, float] | None = None,
    targets: Mapping[str, Target] | None = None,
    previous: Path | None = None,
) -> list[Path]:
    """Write every export of the snapshot file `snapshot` into the new folder `out`; return the files written.
    `version` and `rules` (the publication rules in force) only feed the README sheet; `targets` (the craftsmen
    paths) and `previous` (the snapshot of the publication before, for its revisions) the bulletin."""
    out.mkdir(parents=True, exist_ok=False)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {sql_literal(snapshot)} AS snap (READ_ONLY)")
        columns, values = _mask(con)
        check_no_suppressed_figures(columns, values, "indicator_values")
        cur = con.execute("SELECT * FROM snap.indicator_registry ORDER BY indicator_code")
        reg_columns, registry = [d[0] for d in cur.description], cur.fetchall()
        registry_dicts = [dict(zip(reg_columns, r, strict=True)) for r in registry]
        vintage = con.execute("SELECT max(vintage) FROM snap.indicator_values").fetchone()[0]
        structures = sdmx_structures(registry_dicts)
        units = {r["indicator_code"]: r.get("unit") for r in registry_dicts}

        paths = {key: out / name for key, name in FILES.items()}
        write_sdmx_csv(paths["sdmx_csv"], structures, columns, values, units)
        paths["sdmx_structure"].write_bytes(structure_ml(structures, dt.datetime.now(dt.UTC)))
        write_csv(paths["values_csv"], columns, values)
        write_csv(paths["registry_csv"], reg_columns, registry)
        stamp = "" if vintage is None else vintage.isoformat(sep=" ", timespec="microseconds")
        write_excel(paths["excel"], con, stamp, version, Rules(rules))
        cv_low = (rules or {}).get("cv_low")
        write_bulletin(
            con, paths["bulletin"], version=version, vintage=stamp, targets=targets, previous=previous, cv_low=cv_low
        )
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap'").fetchall()
        }
        if "indicator_changes" in tables:
            change_columns, changes = _mask(con, "indicator_changes")
            check_no_suppressed_figures(change_columns, changes, "indicator_changes")
            paths.update({key: out / name for key, name in CHANGE_FILES.items()})
            write_sdmx_csv(paths["changes_sdmx_csv"], structures, change_columns, changes, changes=True)
            write_csv(paths["changes_csv"], change_columns, changes)
        return list(paths.values())
    finally:
        con.close()
