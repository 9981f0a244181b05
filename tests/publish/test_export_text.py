"""The export files' text, held byte for byte to the writers a reader's tools agree with: Python's `csv.writer`
for the CSV files and pysdmx for the SDMX-CSV files. Exports are rendered in DuckDB and Arrow
(`wfm.publish.text`) so that their cost stays small with ten years of periods; these tests say that a reader sees
the same files as those writers would give, on rows built to hit every rule: formula triggers, quotes, commas,
line breaks, nulls, NaN, infinities, long and tiny numbers, timestamps with and without microseconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from wfm.publish import sdmx
from wfm.publish.safety import defuse
from wfm.publish.text import query_csv

TEXTS = [
    "plain",
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-x",
    "@SUM(1)",
    "\t=1",
    "\r=2",
    "a,b",
    'q"q',
    "l\nl",
    "r\rr",
    "",
    "中文",
]
NUMBERS = [0.0, -0.0, 1.5, -2.25, 100.0, 1e-05, 1e16, 123456789.123, 0.1 + 0.2, 5e-324, math.inf, -math.inf, None]


def python_cell(value: Any) -> str:
    """The cell the exports' Python writer gave a value (the reference this module holds the files to)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def python_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([python_cell(v) for v in row] for row in rows)


def test_csv_is_what_python_csv_writer_writes(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (k INTEGER, txt VARCHAR, x DOUBLE, f FLOAT, n BIGINT, b BOOLEAN, d DATE, ts TIMESTAMP, "
        "m DECIMAL(18, 3))"
    )
    rows = []
    for i in range(max(len(TEXTS), len(NUMBERS))):
        rows.append(
            (
                i,
                TEXTS[i % len(TEXTS)] if i % 7 else None,
                NUMBERS[i % len(NUMBERS)],
                0.1 * i if i % 5 else None,
                -(10**15) * i if i % 3 else None,
                [True, False, None][i % 3],
                dt.date(2000 + i, 1 + i % 12, 1),
                dt.datetime(2026, 1, 1, 12, 0, i, 0 if i % 2 else 1000 * i + 5),
                f"{i}.{i:03d}",
            )
        )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for order in ("k", "txt, k", "x, k"):  # sorted by the values, not by their text in the file
        expected = tmp_path / "expected.csv"
        cur = con.execute(f"SELECT * FROM t ORDER BY {order}")
        python_csv(expected, [d[0] for d in cur.description], cur.fetchall())
        written = tmp_path / "written.csv"
        query_csv(con, written, "SELECT * FROM t", order)
        assert written.read_bytes() == expected.read_bytes(), order
        assert written.read_bytes().startswith(b"\xef\xbb\xbf")


def pysdmx_csv(
    path: Path,
    structures: sdmx.Structures,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    units: Mapping[str, str | None],
    changes: bool = False,
) -> None:
    """The SDMX-CSV as pysdmx writes it from the rows, each value made as the export defines it."""
    import pandas as pd
    from pysdmx.io import write_sdmx
    from pysdmx.io.format import Format
    from pysdmx.io.pd import PandasDataset

    concepts, dsd = (sdmx.CHANGE_CONCEPTS, structures.changes_dsd) if changes else (sdmx.CONCEPTS, structures.dsd)
    at = {c: i for i, c in enumerate(columns)}
    data: dict[str, list[Any]] = {c.id: [] for c in concepts}
    for row in rows:
        for c in concepts:
            if c.id == "UNIT" and not changes:
                value = sdmx.unit_of(units.get(row[at["indicator_code"]]), row[at["member"]])
            else:
                value = row[at[c.column]]
            if c.id in ("TIME_PERIOD", "BASE_PERIOD"):
                value = sdmx.sdmx_period(value)
            data[c.id].append(defuse(value) if isinstance(value, str) else value)
    dtypes = {"Long": "Int64", "Boolean": "boolean"}
    frame = pd.DataFrame({c.id: pd.Series(data[c.id], dtype=dtypes.get(c.dtype)) for c in concepts})
    write_sdmx([PandasDataset(structure=dsd.to_schema(), data=frame)], Format.DATA_SDMX_CSV_2_0_0, output_path=path)


REGISTRY = [
    {"indicator_code": "TRN01", "name_en": "Training", "name_zh": "培训", "formula": "a/b", "unit": "%"},
    {"indicator_code": "WAG01", "name_en": "Pay", "name_zh": "工资", "formula": "-2+3", "unit": "@SUM(1+1)"},
    {"indicator_code": "TAL01", "name_en": "Craftsmen", "name_zh": "工匠", "formula": None, "unit": None},
]


@pytest.fixture
def cells() -> duckdb.DuckDBPyConnection:
    """indicator_values, indicator_changes and the registry's units, with every kind of value."""
    con = duckdb.connect()
    con.execute("CREATE TABLE reg (indicator_code VARCHAR, unit VARCHAR)")
    con.executemany("INSERT INTO reg VALUES (?, ?)", [(r["indicator_code"], r["unit"]) for r in REGISTRY])
    con.execute(
        "CREATE TABLE vals (indicator_code VARCHAR, period VARCHAR, scope VARCHAR, source VARCHAR, "
        "breakdown VARCHAR, member VARCHAR, value DOUBLE, n_unweighted BIGINT, se DOUBLE, ci_lower DOUBLE, "
        "ci_upper DOUBLE, obs_status VARCHAR, conf_status VARCHAR)"
    )
    # No lone CR: pandas leaves it unquoted after LF line ends, and so reads it back as a line end.
    members = ["CN", "=3+3", "CN|progress", "CN|compliance_emp", "a,b", 'x"y', "l\nl", "CN|other"]
    periods = ["2026", "2025Q4", "2026Q1", "=1"]
    rows = []
    for i in range(60):
        value = NUMBERS[i % len(NUMBERS)]
        conf = "C" if i % 11 == 0 else "F"
        rows.append(
            (
                REGISTRY[i % 3]["indicator_code"],
                periods[i % len(periods)],
                "industrial",
                "WE"[i % 2],
                "national",
                members[i % len(members)],
                None if conf == "C" else (math.nan if i == 13 else value),
                None if i % 4 == 0 else 10 * i,
                None if conf == "C" else (value if value is None else abs(value) / 7),
                None if conf == "C" else 0.5 * i,
                None if conf == "C" else 2.0**i,
                "AUP"[i % 3],
                conf,
            )
        )
    con.executemany(f"INSERT INTO vals VALUES ({', '.join(['?'] * 13)})", rows)
    con.execute(
        "CREATE TABLE chg (indicator_code VARCHAR, period VARCHAR, base_period VARCHAR, comparison VARCHAR, "
        "scope VARCHAR, source VARCHAR, breakdown VARCHAR, member VARCHAR, change DOUBLE, change_unit VARCHAR, "
        "se DOUBLE, ci_lower DOUBLE, ci_upper DOUBLE, significant BOOLEAN, obs_status VARCHAR, conf_status VARCHAR)"
    )
    con.executemany(
        f"INSERT INTO chg VALUES ({', '.join(['?'] * 16)})",
        [
            ("TRN01", "2026", "2025", "previous_year", "industrial", "W", "national", "CN", 4.5, "pp", 1.5, 1.5, 7.5)
            + (True, "A", "F"),
            ("TRN01", "2026Q1", "2025Q4", "previous_quarter", "industrial", "E", "national", "=x", None, "-pp")
            + (None, None, None, None, "U", "C"),
            ("WAG01", "2026Q1", "2025Q1", "previous_year", "industrial", "E", "national", "CN", -0.0, "%")
            + (1e-05, -3.0, 1e16, False, "P", "F"),
        ],
    )
    return con


def test_sdmx_csv_is_what_pysdmx_writes(cells: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from pysdmx.io import read_sdmx

    structures = sdmx.sdmx_structures(REGISTRY)
    units = dict(cells.execute("SELECT indicator_code, unit FROM reg").fetchall())
    for table, changes, order in (
        ("vals", False, "indicator_code, period, scope, source, breakdown, member"),
        ("chg", True, "indicator_code, period, base_period, scope, source, breakdown, member"),
    ):
        cur = cells.execute(f"SELECT * FROM {table} ORDER BY {order}")
        expected = tmp_path / f"{table}.expected.sdmx.csv"
        pysdmx_csv(expected, structures, [d[0] for d in cur.description], cur.fetchall(), units, changes)
        written = tmp_path / f"{table}.sdmx.csv"
        keys = [c.strip() for c in order.split(",")]
        sdmx.write_sdmx_csv(cells, written, structures, table, keys, registry="reg", changes=changes)
        assert written.read_bytes() == expected.read_bytes(), table
        frame = read_sdmx(written).data[0].data
        assert len(frame) == cells.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_sdmx_csv_refuses_a_code_outside_its_code_list(cells: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    cells.execute("UPDATE vals SET source = 'X' WHERE rowid = 3")
    structures = sdmx.sdmx_structures(REGISTRY)
    with pytest.raises(sdmx.WfmError, match="CL_SOURCE"):
        sdmx.write_sdmx_csv(cells, tmp_path / "v.sdmx.csv", structures, "vals", ["indicator_code"], registry="reg")


def test_sdmx_csv_refuses_a_suppressed_cell_with_a_figure(cells: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    cells.execute("UPDATE vals SET se = 1.0 WHERE conf_status = 'C'")
    structures = sdmx.sdmx_structures(REGISTRY)
    with pytest.raises(sdmx.WfmError, match="suppressed"):
        sdmx.write_sdmx_csv(cells, tmp_path / "v.sdmx.csv", structures, "vals", ["indicator_code"], registry="reg")
