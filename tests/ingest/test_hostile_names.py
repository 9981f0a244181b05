"""A name that comes from a delivery reaches SQL quoted, never pasted: a Parquet column named like SQL is an
extra column of the batch, not a statement."""

from __future__ import annotations

from pathlib import Path

from conftest import query, survey_rows, write_parquet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfm.config import Home
from wfm.errors import FileRefused
from wfm.ingest import ingest_file
from wfm.ingest.formats import read_into
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
