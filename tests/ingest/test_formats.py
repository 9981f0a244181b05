"""Reading deliveries: every format, encoding and header language loads every row; a file that cannot be read
as a whole is refused with its reason, and the rows keep the numbers they have in the file.

Files are ingested with `docs=False`: these tests read the warehouse, not the Data Docs (tests/gate reads
those), and rendering the Data Docs costs more than ingesting a small file."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import duckdb
import pytest
from conftest import (
    query,
    survey_rows,
    write_csv,
    write_parquet,
    write_xlsx,
)

from wfm import cli
from wfm.config import Home
from wfm.ingest import ingest_file
from wfm.ingest.normalize import Nfkc, nfkc_text, special_row

# --- formats -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("chinese", [False, True])
def test_csv_encodings_and_header_languages_load_every_row(
    home: Home, tmp_path: Path, encoding: str, chinese: bool
) -> None:
    path = write_csv(tmp_path / "wave.csv", survey_rows(8), encoding=encoding, chinese=chinese)
    sent = path.read_bytes()
    out = ingest_file(home, path, "survey", "t", docs=False)
    assert (out.outcome, out.rows_read, out.rows_accepted, out.rows_quarantined) == ("loaded", 8, 8, 0)
    assert query(home, "SELECT encoding FROM audit.load_log")[0][0] == encoding
    assert (home.archive / "survey" / "wave.csv").read_bytes() == sent and not path.exists()


def test_xlsx_form_metadata_is_kept_and_header_found_below_it(home: Home, tmp_path: Path) -> None:
    metadata = [
        ["表号：", "WFM-1表"],
        ["制定机关：", "国家统计局"],
        ["批准文号：", "国统制〔2026〕1号"],
        ["有效期至：", "2028年12月"],
        [],
        ["计量单位：人、元"],
    ]
    path = write_xlsx(tmp_path / "wave.xlsx", survey_rows(6), metadata=metadata)
    out = ingest_file(home, path, "survey", "t", docs=False)
    assert (out.outcome, out.rows_accepted) == ("loaded", 6)
    form = json.loads(query(home, "SELECT form_metadata FROM audit.load_log")[0][0])
    assert form[0] == "表号： WFM-1表" and "计量单位：人、元" in form


def test_extra_columns_are_kept_in_raw_even_with_quotes_in_their_header(home: Home, tmp_path: Path) -> None:
    rows = [dict(r, **{'备注 "内部"': "x'y"}) for r in survey_rows(12)]
    out = ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t", docs=False)
    assert (out.outcome, out.rows_accepted) == ("loaded", 12)
    extra = json.loads(query(home, "SELECT extra_columns FROM raw.survey_responses LIMIT 1")[0][0])
    assert extra == {"备注 _内部_": "x'y"}


def test_parquet_with_canonical_names_loads(home: Home, tmp_path: Path) -> None:
    out = ingest_file(home, write_parquet(tmp_path / "wave.parquet", survey_rows(5)), "survey", "t", docs=False)
    assert (out.outcome, out.rows_accepted) == ("loaded", 5)


def test_values_are_normalised(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(12)
    rows[0].update(
        monthly_wage="１２,３４５",
        design_weight="1,000.5",
        skill_level="三级",
        hukou_type="农业",
        trained_12m="true",
        training_hours_12m="８",
        occupational_injury_protection="—",
        union_member="N",
    )
    rows[1].update(skill_level="高级技师", sex="１" if rows[1]["sex"] == "1" else "２", monthly_wage="NA")
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t", docs=False)
    got = query(
        home,
        "SELECT monthly_wage, design_weight, skill_level, hukou_type, trained_12m, "
        "training_hours_12m, occupational_injury_protection, union_member FROM raw.survey_responses "
        "ORDER BY row_number",
    )
    assert got[0] == (12345.0, 1000.5, "L3", 1, True, 8.0, None, False)
    assert got[1][0] is None and got[1][2] == "L5"


NFKC_SAMPLES = [
    "１２３",
    "是",
    "  abc ",
    "\tx\r\n",
    "①",
    "ﬁ",
    "㎡",
    "Ⅻ",
    "\u3000全角\u3000",
    "Ｃ３４１１",
    "其中：用于（万元）",
    "—",
    "－",
    "NA",
    "\u00e9",
    "e\u0301",
    "豈",
    "ｶﾞ",
    "x\u00a0y",
    "＇",
    None,
]


def test_sql_normalisation_equals_python_nfkc_and_strip() -> None:
    con = duckdb.connect()
    with Nfkc(con):
        got = [
            r[0]
            for r in con.execute(
                f"SELECT {nfkc_text('s')} FROM unnest(?) WITH ORDINALITY t(s, i) ORDER BY i", [NFKC_SAMPLES]
            ).fetchall()
        ]
        # the plain path (rows without a special character or a value with a space at an end) on those samples
        plain = [
            v
            for v in NFKC_SAMPLES
            if v is not None and not re.search(r"[^\x01\x20-\x7e\u4e00-\u9fff]", v) and v == v.strip(" ")
        ]
        got_plain = [
            r[0]
            for r in con.execute(
                f"SELECT {nfkc_text('s', plain=True)} FROM unnest(?) WITH ORDINALITY t(s, i) ORDER BY i", [plain]
            ).fetchall()
        ]
    con.close()
    assert got == [None if v is None else unicodedata.normalize("NFKC", v).strip() for v in NFKC_SAMPLES]
    assert plain and got_plain == [unicodedata.normalize("NFKC", v).strip() for v in plain]


def test_row_test_flags_exactly_the_rows_with_a_special_value_or_an_edge_space() -> None:
    con = duckdb.connect()
    rows = [
        ("A1", "是", "12,000"),
        ("A 1", "否 否", None),  # spaces inside values are kept as sent
        ("A1", "\t是", "1"),
        ("Ａ1", "是", "1"),
        ("A1", None, "①"),
        (" A1", "是", "1"),
        ("A1 ", None, "1"),
        ("A1", " 是", "1"),
        ("A1", "是", "1 "),
        ("A1", "", " "),
    ]
    values = ", ".join(f"(?, ?, ?, {i})" for i in range(len(rows)))
    flags = [
        r[0]
        for r in con.execute(
            f"SELECT {special_row(['a', 'b', 'c'])} FROM (VALUES {values}) t(a, b, c, i) ORDER BY i",
            [v for row in rows for v in row],
        ).fetchall()
    ]
    con.close()
    assert flags == [False, False, True, True, True, True, True, True, True, True]


def test_values_sent_with_spaces_around_them_load_trimmed(home: Home, tmp_path: Path) -> None:
    """A row of plain characters whose values carry spaces at their ends goes the normalised way: the values
    load trimmed, and the row is neither quarantined nor a duplicate of itself."""
    rows = survey_rows(12)
    sent = {"respondent_id": f" {rows[0]['respondent_id']}", "age": f"{rows[0]['age']}  ", "stratum": " 44-C "}
    rows[0].update(sent)
    out = ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t", docs=False)
    assert (out.rows_accepted, out.rows_quarantined) == (12, 0)
    got = query(home, "SELECT respondent_id, age, stratum FROM raw.survey_responses WHERE row_number = 1")
    assert got == [(sent["respondent_id"].strip(), int(sent["age"]), "44-C")]


# --- whole-file refusals -----------------------------------------------------------------------------------------


def _refusal(home: Home, path: Path, source: str = "survey") -> str:
    """Run `wfm ingest` as a user would; return the reason code written beside the rejected file."""
    original = path.read_bytes()
    assert cli.main(["--home", str(home.root), "ingest", "--source", source, str(path)]) == 0
    rejected = home.rejected / source / path.name
    assert rejected.read_bytes() == original  # untouched
    table = "raw.survey_responses" if source == "survey" else "raw.enterprise_returns"
    assert query(home, f"SELECT count(*) FROM {table}")[0][0] == 0
    assert query(home, "SELECT outcome FROM audit.load_log")[0][0] == "rejected"
    return rejected.with_name(path.name + ".reason.txt").read_text(encoding="utf-8").splitlines()[0]


def test_missing_required_column_refuses_the_file(home: Home, tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "psu"} for r in survey_rows(3)]
    assert _refusal(home, write_csv(tmp_path / "w.csv", rows)) == "missing_column:psu"


def test_empty_files_are_refused(home: Home, tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_bytes(b"")
    assert _refusal(home, tmp_path / "zero.csv") == "empty"


def test_header_only_file_is_refused(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(1))
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert _refusal(home, path) == "empty"


def test_truncated_file_is_refused(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(5))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    assert _refusal(home, path) == "truncated"


@pytest.mark.parametrize("payload", [b"\xff\xfea\x00b\x00", "调查期,问卷编号\n".encode() + b"\x80\x80\xff,\n"])
def test_undecodable_file_is_refused(home: Home, tmp_path: Path, payload: bytes) -> None:
    (tmp_path / "w.csv").write_bytes(payload)
    assert _refusal(home, tmp_path / "w.csv") == "encoding"


def test_nul_bytes_refuse_a_file_that_is_otherwise_utf8(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(3))
    path.write_bytes(path.read_bytes().replace(b"C3411", b"C3\x00411", 1))
    assert _refusal(home, path) == "encoding"


def test_gb18030_whose_first_chinese_byte_comes_late_is_read_as_gb18030(home: Home, tmp_path: Path) -> None:
    # DuckDB reads the file as UTF-8 and meets the one GB18030 value in its last row: the file is then
    # decoded and transcoded, and every row loads once
    rows = survey_rows(400)
    rows[:-1] = [{k: {"是": "1", "否": "0"}.get(v, v) for k, v in row.items()} for row in rows[:-1]]
    path = write_csv(tmp_path / "late.csv", rows, encoding="gb18030")
    assert path.read_bytes()[:-300].isascii() and not path.read_bytes().isascii()
    out = ingest_file(home, path, "survey", "t", docs=False)
    assert (out.outcome, out.rows_read) == ("loaded", 400)
    assert query(home, "SELECT encoding FROM audit.load_log")[0][0] == "gb18030"
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] + out.rows_quarantined == 400


def test_unreadable_workbook_is_refused(home: Home, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "w.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    assert _refusal(home, tmp_path / "w.xlsx") == "unreadable"
    out = capsys.readouterr()
    assert "rejected" in out.out and "Traceback" not in out.out + out.err


def test_row_numbers_are_the_file_rows_of_a_large_file(tmp_path) -> None:
    """A 40 MB file is read by several threads; the numbering must still follow the file, or quarantine and raw
    would name the wrong rows."""
    from wfm.contract import COLUMNS
    from wfm.ingest.formats import read_into
    from wfm.warehouse import connect

    path = tmp_path / "wave.csv"
    values = ", ".join(
        ("'R' || i" if c.name == "respondent_id" else "'filler-text'") + f' AS "{c.name}"' for c in COLUMNS["survey"]
    )
    duckdb.connect().execute(f"COPY (SELECT {values} FROM range(100000) t(i) ORDER BY i) TO '{path}' (HEADER)")
    con = connect(":memory:")  # the warehouse's settings, insertion order off
    read_into(con, path, "survey", "text_rows")
    misplaced = con.execute("SELECT count(*) FROM text_rows WHERE respondent_id <> 'R' || (row_number - 1)")
    assert misplaced.fetchone()[0] == 0
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False
    con.close()


def test_reading_inside_an_open_transaction_is_refused(tmp_path) -> None:
    """Row numbers come from the committed row ids of the file's TEMP table; rows not yet committed are numbered
    from 2^55, so a read inside a caller's transaction must fail loudly instead of numbering them wrong."""
    from wfm.ingest.formats import read_into
    from wfm.warehouse import connect

    path = write_csv(tmp_path / "w.csv", survey_rows(3))
    con = connect(":memory:")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(RuntimeError, match="inside an open transaction"):
        read_into(con, path, "survey", "text_rows")
    con.execute("ROLLBACK")
    read_into(con, path, "survey", "text_rows")
    assert con.execute("SELECT list(row_number ORDER BY row_number) FROM text_rows").fetchone()[0] == [1, 2, 3]
    con.close()
