"""A name that comes from a delivery reaches SQL quoted, never pasted: a column named like SQL is an extra column
of the batch, not a statement, and no header, sheet or file name keeps a file from being read whole or refused
with a reason."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import query, survey_rows, write_csv, write_parquet, write_xlsx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wfm.config import Home
from wfm.errors import FileRefused
from wfm.ingest import ingest_file
from wfm.ingest.formats import FileInfo, read_into
from wfm.warehouse import connect


def test_a_parquet_column_named_like_sql_is_an_extra_column_not_a_statement(home: Home, tmp_path: Path) -> None:
    assert ingest_file(home, write_parquet(tmp_path / "first.parquet", survey_rows(6)), "survey", "t").outcome == (
        "loaded"
    )
    written = tmp_path / "written_by_the_file.csv"
    hostile = (
        f"x\" AS VARCHAR) AS x FROM range(1); COPY (SELECT 1) TO '{written}'; "
        'DELETE FROM raw.survey_responses; SELECT CAST("x'
    )
    rows = [{**row, hostile: "v"} for row in survey_rows(6, prefix="S")]
    out = ingest_file(home, write_parquet(tmp_path / "second.parquet", rows), "survey", "t")
    assert out.outcome == "loaded"
    assert not written.exists()
    assert query(home, "SELECT count(*) FROM raw.survey_responses") == [(12,)]
    (extras,) = query(
        home, "SELECT DISTINCT json_keys(extra_columns) FROM raw.survey_responses WHERE extra_columns IS NOT NULL"
    )
    assert len(extras[0]) == 1 and "DELETE FROM raw.survey_responses" in extras[0][0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_any_parquet_column_name_is_read_as_a_name(tmp_path: Path, name: str) -> None:
    """Whatever the header, the file is read (the column kept as an extra) or refused with a reason."""
    path = tmp_path / "hostile.parquet"
    write_parquet(path, [{**row, name: "v"} for row in survey_rows(3)])
    con = connect(":memory:")
    try:
        con.execute("CREATE TABLE sentinel AS SELECT 1 AS one")
        try:
            info = read_into(con, path, "survey", "text_rows")
        except FileRefused:
            return
        assert info.rows_read == 3
        assert con.execute("SELECT count(*) FROM text_rows").fetchone() == (3,)
        assert con.execute("SELECT one FROM sentinel").fetchall() == [(1,)]
    finally:
        con.close()


# --- every reader, every name a delivery brings ---------------------------------------------------------------

#: openpyxl refuses these in a cell (XML 1.0 cannot hold them)
_XML_ILLEGAL = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
#: and these in a sheet title, which Excel limits to 31 characters
_TITLE_ILLEGAL = _XML_ILLEGAL + "\\*?:/[]"
#: DuckDB reads a path with these as a pattern; read_into is given a path of the intake's own making
#: (wfm.ingest.batch), so a delivered name with them never reaches it
_PATTERN = "*?["
HOSTILE = (
    'x" AS VARCHAR) AS x FROM range(1); DROP TABLE sentinel; SELECT CAST("x',
    "x'); DROP TABLE sentinel; --",
    "rowid",
    "ROW_NUMBER",
    "_special",
    "\ufeffsurvey_wave",
    "\r\n",
    " ",
)
_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read_three_rows(path: Path) -> FileInfo | None:
    """Read `path` beside a sentinel table: refused with a reason (None) or read with its three rows, and the
    sentinel untouched either way."""
    con = connect(":memory:")
    try:
        con.execute("CREATE TABLE sentinel AS SELECT 1 AS one")
        try:
            info = read_into(con, path, "survey", "text_rows")
        except FileRefused:
            info = None
        else:
            assert info.rows_read == 3
            assert con.execute("SELECT list(row_number ORDER BY row_number) FROM text_rows").fetchone() == ([1, 2, 3],)
            assert con.execute("SELECT count(DISTINCT respondent_id) FROM text_rows").fetchone() == (3,)
        assert con.execute("SELECT one FROM sentinel").fetchall() == [(1,)]
        return info
    finally:
        con.close()


def _with_extra(name: str) -> list[dict[str, str]]:
    return [{**row, name: f"v{i}"} for i, row in enumerate(survey_rows(3))]


@_SETTINGS
@given(name=st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)))
def test_any_csv_header_is_read_as_a_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / "hostile.csv"
    rows = _with_extra(name)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(rows[0]))
        writer.writerows(row.values() for row in rows)
    _read_three_rows(path)


@_SETTINGS
@given(
    name=st.one_of(
        st.sampled_from(HOSTILE[:-2]),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters=_XML_ILLEGAL), min_size=1, max_size=40
        ),
    )
)
def test_any_xlsx_header_is_read_as_a_name(tmp_path: Path, name: str) -> None:
    _read_three_rows(write_xlsx(tmp_path / "hostile.xlsx", _with_extra(name)))


@_SETTINGS
@given(
    title=st.one_of(
        st.sampled_from(["'; DROP TABLE sentinel; --", 'x" ; DROP TABLE sentinel', "Sheet1", "'quoted'"]),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters=_TITLE_ILLEGAL), min_size=1, max_size=31
        ),
    )
)
def test_any_sheet_name_is_read_past(tmp_path: Path, title: str) -> None:
    import openpyxl

    path = write_xlsx(tmp_path / "hostile.xlsx", survey_rows(3))
    book = openpyxl.load_workbook(path)
    try:
        book.worksheets[0].title = title
        book.create_sheet("; DROP TABLE sentinel; " + title[:8])
    except ValueError:  # a title openpyxl itself refuses to write
        assume(False)
    book.save(path)
    assert _read_three_rows(path) is not None


def _write(kind: str, path: Path) -> Path:
    rows = survey_rows(3)
    if kind == "csv-gb18030":
        return write_csv(path, rows, encoding="gb18030", chinese=True)
    return {"csv": write_csv, "xlsx": write_xlsx, "parquet": write_parquet}[kind](path, rows)


_SUFFIX = {"csv": ".csv", "csv-gb18030": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


@pytest.mark.parametrize("kind", list(_SUFFIX))
@_SETTINGS
@given(
    stem=st.one_of(
        st.sampled_from(["'; DROP TABLE sentinel; --", 'x"y', "~", "-rf", ".hidden", "a\nb", "\x1b[2J", "a\\b"]),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00" + _PATTERN),
            min_size=1,
            max_size=40,
        ),
    )
)
def test_any_file_name_is_read_as_a_name(tmp_path: Path, kind: str, stem: str) -> None:
    name = stem + _SUFFIX[kind]
    assume(len(name.encode()) <= 255 and name not in (".", ".."))
    assert _read_three_rows(_write(kind, tmp_path / name)) is not None


@pytest.mark.parametrize("kind", list(_SUFFIX))
def test_a_file_name_as_long_as_the_system_allows_is_read(tmp_path: Path, kind: str) -> None:
    name = "调" * 80 + "x" * (255 - 240 - len(_SUFFIX[kind])) + _SUFFIX[kind]
    assert len(name.encode()) == 255
    assert _read_three_rows(_write(kind, tmp_path / name)) is not None
