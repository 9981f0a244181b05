"""CSV text of a DuckDB query, rendered and quoted in DuckDB and Arrow, never cell by cell in Python: the exports
(`wfm.publish.exports`, `wfm.publish.sdmx`) hold every stored period, so the cost of writing them must stay a
small part of a night however long the history grows.

The files read exactly as the Python writers they replace would write them, byte for byte — the tests hold them
to those writers — so a reader's parser, diff or checksum sees no change of format:

- `query_csv`: what `csv.writer` writes of Python values (`True` as `true`, numbers by `repr`, timestamps by
  `isoformat(sep=" ")`, text defused by `safety.defuse`), quoted when a cell holds `,`, `"`, CR or LF;
- `rendered_csv`: the same quoting of cells rendered by the caller, for the SDMX-CSV that pysdmx would write
  (`wfm.publish.sdmx`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from wfm.publish.safety import FORMULA_TRIGGERS
from wfm.warehouse import sql_identifier, sql_literal

#: Rows per batch fetched from DuckDB and written: bounds the memory of one export whatever its size.
BATCH_ROWS = 100_000


def defuse_sql(expr: str) -> str:
    """SQL of `safety.defuse` on a text expression: a leading `'` when a spreadsheet would run the text."""
    triggers = ", ".join(sql_literal(t) for t in FORMULA_TRIGGERS)
    return f"CASE WHEN left({expr}, 1) IN ({triggers}) THEN '''' || {expr} ELSE {expr} END"


def python_text_sql(expr: str, dtype: str) -> str:
    """SQL of the text Python's `str`/`repr`/`isoformat` gives a value of DuckDB type `dtype` (NULL stays NULL).
    DuckDB's cast of a double is the shortest round trip, as `repr`; a float widens first, as Python does."""
    if dtype == "VARCHAR":
        return defuse_sql(expr)
    if dtype == "BOOLEAN":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if dtype == "TIMESTAMP":  # isoformat writes microseconds only when there are any, and then all six
        full = f"strftime({expr}, '%Y-%m-%d %H:%M:%S.%f')"
        return f"CASE WHEN microsecond({expr}) % 1000000 = 0 THEN strftime({expr}, '%Y-%m-%d %H:%M:%S') ELSE {full} END"
    if dtype == "FLOAT":
        return f"CAST(CAST({expr} AS DOUBLE) AS VARCHAR)"
    return f"CAST({expr} AS VARCHAR)"


def _quoted_sql(expr: str, specials: str) -> str:
    quoted = f"""'"' || replace({expr}, '"', '""') || '"'"""
    return f"CASE WHEN regexp_matches({expr}, '[{specials}]') THEN {quoted} ELSE {expr} END"


def _header(columns: Sequence[str], specials: str) -> str:
    def quote(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(ch in c for ch in specials) else c

    return ",".join(quote(c) for c in columns)


def query_csv(
    con: duckdb.DuckDBPyConnection, path: Path, query: str, order: str, *, bom: bool = True, eol: str = "\r\n"
) -> None:
    """The rows of `query`, sorted by its columns `order` (names, comma-separated), as CSV in `path`: UTF-8
    (with a BOM, so that Excel reads the Chinese), text defused, numbers as numbers, as `csv.writer` writes the
    Python values."""
    described = con.execute(f"DESCRIBE {query}").fetchall()
    columns = [r[0] for r in described]
    cells = ", ".join(
        f"{python_text_sql(sql_identifier(name), dtype)} AS {sql_identifier(name)}" for name, dtype, *_ in described
    )
    texts = [dtype == "VARCHAR" for _, dtype, *_ in described]
    # Rendered once, in the file's order (a temporary table keeps its insertion order), then quoted and joined.
    sort = ", ".join(f"q.{c.strip()}" for c in order.split(","))  # the query's columns, not the rendered ones
    con.execute(f"CREATE OR REPLACE TEMP TABLE csv_rows AS SELECT {cells} FROM ({query}) q ORDER BY {sort}")
    try:
        names = [sql_identifier(c) for c in columns]
        rendered_csv(con, path, columns, names, "csv_rows", "rowid", bom=bom, eol=eol, texts=texts)
    finally:
        con.execute("DROP TABLE csv_rows")


def rendered_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: Sequence[str],
    cells: Sequence[str],
    source: str,
    order: str,
    *,
    bom: bool,
    eol: str,
    texts: Sequence[bool] | None = None,
) -> None:
    """CSV in `path` whose cells are the SQL text expressions `cells` over `source` (NULL: an empty cell), rows
    sorted by `order`: a cell is quoted when it holds `,`, `"` or a character of `eol`, as Python's `csv` module
    does with that line end (pandas' `to_csv` uses LF, and so leaves a lone CR unquoted). `texts` says which
    cells may hold such a character (default all); the others (numbers, dates, statuses) are not searched."""
    specials = ',"' + "".join(sorted(set(eol)))
    texts = [True] * len(cells) if texts is None else texts
    quoted = [
        _quoted_sql(f"coalesce({cell}, '')", specials) if text else f"coalesce({cell}, '')"
        for cell, text in zip(cells, texts, strict=True)
    ]
    line = " || ',' || ".join(quoted) if quoted else "''"
    lines = con.sql(f"SELECT {line} AS line FROM {source} ORDER BY {order}")
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        fh.write(_header(columns, specials) + eol)
        for batch in lines.to_arrow_reader(BATCH_ROWS):
            rows = batch.column(0).to_pylist()
            if rows:
                fh.write(eol.join(rows) + eol)
