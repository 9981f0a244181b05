"""Ingestion as a statistician sees it: every row sent is in raw or in quarantine with its reasons, every refused
file is in rejected/ with a reason beside it, the same bytes load once, and nothing personal is stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import duckdb
import pytest
from conftest import enterprise_rows, survey_rows, valid_id, write_csv, write_parquet, write_xlsx

from wfm import cli, pseudonym
from wfm.config import Home
from wfm.errors import WfmError
from wfm.ingest import ingest_file, open_warehouse, promote, stage
from wfm.normalize import Nfkc, nfkc_text, special_row
from wfm.pipeline import ingest_all


def query(home: Home, sql: str, params: list | None = None) -> list[tuple]:
    con = open_warehouse(home)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarantine_reasons(home: Home) -> dict[int, set[str]]:
    return {
        row: set(reasons.split(",")) for row, reasons in query(home, "SELECT row_number, reasons FROM audit.quarantine")
    }


# --- formats -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("chinese", [False, True])
def test_csv_encodings_and_header_languages_load_every_row(
    home: Home, tmp_path: Path, encoding: str, chinese: bool
) -> None:
    path = write_csv(tmp_path / "wave.csv", survey_rows(8), encoding=encoding, chinese=chinese)
    sent = path.read_bytes()
    out = ingest_file(home, path, "survey", "t")
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
    out = ingest_file(home, path, "survey", "t")
    assert (out.outcome, out.rows_accepted) == ("loaded", 6)
    form = json.loads(query(home, "SELECT form_metadata FROM audit.load_log")[0][0])
    assert form[0] == "表号： WFM-1表" and "计量单位：人、元" in form


def test_extra_columns_are_kept_in_raw_even_with_quotes_in_their_header(home: Home, tmp_path: Path) -> None:
    rows = [dict(r, **{'备注 "内部"': "x'y"}) for r in survey_rows(12)]
    out = ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
    assert (out.outcome, out.rows_accepted) == ("loaded", 12)
    extra = json.loads(query(home, "SELECT extra_columns FROM raw.survey_responses LIMIT 1")[0][0])
    assert extra == {"备注 _内部_": "x'y"}


def test_parquet_with_canonical_names_loads(home: Home, tmp_path: Path) -> None:
    out = ingest_file(home, write_parquet(tmp_path / "wave.parquet", survey_rows(5)), "survey", "t")
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
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
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
    out = ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
    assert (out.rows_accepted, out.rows_quarantined) == (12, 0)
    got = query(home, "SELECT respondent_id, age, stratum FROM raw.survey_responses WHERE row_number = 1")
    assert got == [(sent["respondent_id"].strip(), int(sent["age"]), "44-C")]


# --- row rules ---------------------------------------------------------------------------------------------------

SURVEY_BAD = [
    ("age", "90", "age_out_of_range"),
    ("age", "abc", "age_not_number"),
    ("age", "36.5", "age_not_integer"),
    ("design_weight", "0", "design_weight_out_of_range"),
    ("design_weight", "", "design_weight_missing"),
    ("monthly_wage", "1000001", "monthly_wage_out_of_range"),
    ("weekly_hours", "113", "weekly_hours_out_of_range"),
    ("monthly_wage", "5,5", "monthly_wage_not_number"),  # a decimal comma, not a thousands separator (was 55)
    ("overtime_hours_month", "201", "overtime_hours_month_out_of_range"),
    ("sense_gain", "6", "sense_gain_out_of_range"),
    ("sex", "3", "sex_invalid_code"),
    ("contract_type", "4", "contract_type_invalid_code"),
    ("skill_level", "L9", "skill_level_invalid_code"),
    ("craftsman_title", "县级", "craftsman_title_invalid_code"),
    ("union_member", "maybe", "union_member_invalid_code"),
    ("survey_wave", "2026Q5", "survey_wave_bad_format"),
    ("survey_wave", "ab26", "survey_wave_bad_format"),  # its year is never cast: that failed the whole file
    ("respondent_id", "—", "respondent_id_missing"),
    ("region_code", "990100", "region_code_unknown_province"),
    ("region_code", "4401", "region_code_bad_format"),
    ("industry_code", "C9999", "industry_code_invalid"),
    ("industry_code", "B3411", "industry_code_invalid"),  # division 34 is in section C, not B
    ("occupation_code", "9-01", "occupation_code_invalid"),
    ("employer_uscc", "91440101MA5D000001", "employer_uscc_check_digit"),
    ("employer_uscc", "91440101MA5D00000", "employer_uscc_bad_format"),
    ("id_number", "44010119900615001", "id_number_bad_format"),
    ("id_number", "440101199002300013", "id_number_bad_format"),  # 30 February
]


@pytest.mark.parametrize(("column", "value", "reason"), SURVEY_BAD)
def test_each_survey_row_rule_quarantines_its_row(
    home: Home, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    rows = survey_rows(12)
    rows[2][column] = value
    out = ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
    assert (out.outcome, out.rows_accepted, out.rows_quarantined) == ("loaded", 11, 1)
    assert reason in quarantine_reasons(home)[3]


#: numbers DuckDB parses but no statistic can use: the row is quarantined with one reason, the file still loads
#: (an infinite or NaN weight used to pass the rules; 1e30 in an integer column failed the whole file's query)
NOT_NUMBERS = [
    ("design_weight", "nan", "design_weight_not_number"),
    ("monthly_wage", "inf", "monthly_wage_not_number"),
    ("weekly_hours", "-Infinity", "weekly_hours_not_number"),
    ("training_hours_12m", "1e400", "training_hours_12m_not_number"),
    ("age", "NaN", "age_not_number"),
    ("age", "1e30", "age_out_of_range"),
]


@pytest.mark.parametrize("way", ["three steps", "one transaction"])
def test_numbers_no_statistic_can_use_are_quarantined_and_the_file_loads(home: Home, tmp_path: Path, way: str) -> None:
    rows = survey_rows(12)  # rows 1-6 (one of each PSU per stratum) get the values; the gate keeps its PSUs
    for row, (column, value, _) in zip(rows, NOT_NUMBERS, strict=False):
        row[column] = value
    path = write_csv(home.inbox("survey") / "w.csv", rows)
    if way == "three steps":
        out = ingest_file(home, path, "survey", "t")
    else:
        (out,) = ingest_all(home, [("survey", path)], run_id="t")
    assert (out.outcome, out.rows_accepted, out.rows_quarantined) == ("loaded", 6, 6)
    assert quarantine_reasons(home) == {i + 1: {reason} for i, (_, _, reason) in enumerate(NOT_NUMBERS)}


def test_a_count_beyond_bigint_is_out_of_range_and_nan_only_not_a_number(home: Home, tmp_path: Path) -> None:
    rows = enterprise_rows(4)
    rows[1]["employees_total"] = "1e30"
    rows[2]["edu_fund_frontline"] = "nan"  # NaN > edu_fund_used would hold in DuckDB: no cross-rule reason
    out = ingest_file(home, write_csv(tmp_path / "e.csv", rows, source="enterprise"), "enterprise", "t")
    assert (out.rows_accepted, out.rows_quarantined) == (2, 2)
    assert quarantine_reasons(home) == {2: {"employees_total_out_of_range"}, 3: {"edu_fund_frontline_not_number"}}


def _rules_buggy_once(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Make the row rules' query of the next file `SELECT *<change> FROM (<the real query>)`, a bug of theirs;
    the files after it are checked by the real query."""
    from wfm import rules

    checked_sql = rules.checked_sql
    calls = []

    def buggy_once(source: str, text: str, present: list[str]) -> str:
        calls.append(text)
        return f"SELECT *{change if len(calls) == 1 else ''} FROM ({checked_sql(source, text, present)})"

    monkeypatch.setattr(rules, "checked_sql", buggy_once)


@pytest.mark.parametrize("way", ["three steps", "one transaction"])
def test_row_checks_that_fail_refuse_the_file_without_quoting_it_and_the_night_goes_on(
    home: Home, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """A value the rules cannot type is a bug; it must not end the night, lose the file or leak the value, nor
    refuse the files after it (one transaction: on the same connection)."""
    secret = "440101199006150011"
    # the kind of query a rule's bug makes: a CAST of a file's value (DuckDB's message quotes the value)
    _rules_buggy_once(monkeypatch, ", CAST(id_number AS INTEGER) AS boom")
    bad = write_csv(home.inbox("survey") / "a.csv", [dict(r, id_number=secret) for r in survey_rows(12)])
    good = write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    if way == "three steps":
        out, after = ingest_file(home, bad, "survey", "t"), ingest_file(home, good, "survey", "t")
    else:
        out, after = ingest_all(home, [("survey", bad), ("survey", good)], run_id="t")
    assert out.outcome == "rejected" and "row_rules" in out.reason and secret not in out.reason
    reason_file = home.rejected / "survey" / "a.csv.reason.txt"
    assert reason_file.exists() and secret not in reason_file.read_text(encoding="utf-8")
    assert (after.outcome, after.rows_accepted) == ("loaded", 12)


@pytest.mark.parametrize("way", ["three steps", "one transaction"])
def test_a_required_value_the_row_rules_missed_keeps_the_file_out_of_raw(
    home: Home, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """raw's required columns are NOT NULL: a row that reaches it without one (a bug of the row rules) refuses
    its file, named with the column, in one transaction; the three steps' gate refuses it before promotion.
    Either way nothing of the file is in raw, and the next file loads."""
    _rules_buggy_once(monkeypatch, " REPLACE (CAST(NULL AS VARCHAR) AS psu)")
    bad = write_csv(home.inbox("survey") / "a.csv", survey_rows(12))
    good = write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    if way == "three steps":
        out, after = ingest_file(home, bad, "survey", "t"), ingest_file(home, good, "survey", "t")
        assert out.outcome == "rejected" and "survey.required_values_present" in out.reason
    else:
        out, after = ingest_all(home, [("survey", bad), ("survey", good)], run_id="t")
        assert out.outcome == "rejected" and "raw_not_null" in out.reason and "column psu" in out.reason
    assert (home.rejected / "survey" / "a.csv").exists()
    assert (after.outcome, after.rows_accepted) == ("loaded", 12)
    assert query(home, "SELECT count(*), count(DISTINCT batch_id) FROM raw.survey_responses") == [(12, 1)]


def test_a_raw_table_from_before_the_constraints_gets_them_and_refuses_missing_values(tmp_path: Path) -> None:
    """A warehouse whose raw tables were created with nullable required columns: ensure_schema declares them
    NOT NULL (DuckDB checks the rows held), and one holding a row without a required value is reported."""
    from wfm.schema import COLUMNS
    from wfm.warehouse import ensure_schema, required_columns

    def nullable(con: duckdb.DuckDBPyConnection) -> set[str]:
        return {
            name
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
                "AND table_name = 'enterprise_returns' AND is_nullable = 'YES'"
            ).fetchall()
        }

    for held, fails in ((["'2026Q1'"], False), (["NULL"], True)):
        con = duckdb.connect(str(tmp_path / f"old_{fails}.duckdb"))
        con.execute("CREATE SCHEMA raw")
        columns = ", ".join(f"{c.name} VARCHAR" for c in COLUMNS["enterprise"] if c.kind != "personal")
        con.execute(f"CREATE TABLE raw.enterprise_returns (batch_id VARCHAR, {columns})")
        con.execute(f"INSERT INTO raw.enterprise_returns (batch_id, report_period) VALUES ('b', {held[0]})")
        con.execute("UPDATE raw.enterprise_returns SET uscc = 'u', enterprise_name = 'n', submitted_at = 's'")
        assert set(required_columns("enterprise")) <= nullable(con)
        if fails:
            with pytest.raises(WfmError, match="column report_period, rule raw_not_null"):
                ensure_schema(con)
        else:
            ensure_schema(con)
            assert not set(required_columns("enterprise")) & nullable(con)
            with pytest.raises(duckdb.ConstraintException):
                con.execute("INSERT INTO raw.enterprise_returns (batch_id) VALUES ('c')")
        con.close()


def test_id_number_rules_check_digit_sex_and_age(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(12)
    good = rows[0]["id_number"]
    rows[1]["id_number"] = good[:-1] + ("1" if good[-1] != "1" else "2")
    rows[2]["sex"] = "2" if rows[2]["sex"] == "1" else "1"
    rows[3]["age"] = "40"  # born 1990-06-15: 36 on the 2026 reference date
    rows[4]["age"] = "37"  # one year off is tolerated
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
    reasons = quarantine_reasons(home)
    assert reasons == {2: {"id_number_check_digit"}, 3: {"sex_id_mismatch"}, 4: {"age_id_mismatch"}}


def test_training_hours_without_training_and_duplicates(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(12)
    rows[0].update(trained_12m="否", training_hours_12m="10")
    rows[4]["respondent_id"] = rows[3]["respondent_id"]
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t")
    assert quarantine_reasons(home) == {1: {"training_hours_without_training"}, 5: {"respondent_id_duplicate"}}
    # In a later file of the same wave: R00001 was loaded, so it is a duplicate; R00000 was quarantined, so its
    # corrected row is welcome (and the rest of the file keeps two PSUs per stratum for the gate).
    later = [r for r in survey_rows(12) if r["respondent_id"] != "R00003"]
    later = [later[0], later[1]] + [dict(r, respondent_id=f"N{i}") for i, r in enumerate(later[2:])]
    ingest_file(home, write_csv(tmp_path / "later.csv", later), "survey", "t")
    dups = query(home, "SELECT row_number FROM audit.quarantine WHERE reasons = 'respondent_id_duplicate'")
    assert sorted(r[0] for r in dups) == [2, 5]
    assert query(home, "SELECT count(*) FROM raw.survey_responses WHERE respondent_id = 'R00000'")[0][0] == 1


ENTERPRISE_BAD = [
    ({"frontline_workers": "501"}, "frontline_workers_exceeds_total"),
    ({"dispatched_workers": "501"}, "dispatched_workers_exceeds_total"),
    ({"contract_signed": "481"}, "contract_signed_exceeds_employees"),
    ({"skill_l1": "451"}, "skill_counts_exceed_total"),
    ({"payroll_total": "0"}, "payroll_total_not_positive"),
    ({"edu_fund_frontline": "61"}, "edu_fund_frontline_exceeds_used"),
    ({"union_members": "501"}, "union_members_exceeds_total"),
    ({"collective_contract_covered": "501"}, "collective_contract_covered_exceeds_total"),
    ({"collective_contract": "否"}, "collective_contract_covered_without_contract"),
    ({"teams_without_party_member": "21"}, "teams_without_party_member_exceeds_teams"),
    ({"hires_under35": "41"}, "hires_under35_exceeds_hires"),
    ({"migrant_workers": "501"}, "migrant_workers_exceeds_total"),
    ({"uscc": "91440101MA5D000001"}, "uscc_check_digit"),
    ({"uscc": "91440101MA5D00000I"}, "uscc_bad_format"),  # I is not in the GB 32100 alphabet
    ({"registration_type": "999"}, "registration_type_invalid_code"),
    ({"revenue": "-1"}, "revenue_out_of_range"),
    ({"revenue": "1,2,3"}, "revenue_not_number"),  # commas that group no thousands (was 123)
    ({"submitted_at": "yesterday"}, "submitted_at_bad_format"),
    ({"enterprise_name": ""}, "enterprise_name_missing"),
]


@pytest.mark.parametrize(("change", "reason"), ENTERPRISE_BAD)
def test_each_enterprise_row_rule_quarantines_its_row(home: Home, tmp_path: Path, change: dict, reason: str) -> None:
    rows = enterprise_rows(4)
    rows[1].update(change)
    out = ingest_file(home, write_csv(tmp_path / "e.csv", rows, source="enterprise"), "enterprise", "t")
    assert (out.rows_accepted, out.rows_quarantined) == (3, 1)
    assert reason in quarantine_reasons(home)[2]


def test_quarantine_keeps_values_but_masks_personal_fields(home: Home, tmp_path: Path) -> None:
    rows = enterprise_rows(3)
    rows[0]["frontline_workers"] = "9999"
    ingest_file(home, write_csv(tmp_path / "e.csv", rows, source="enterprise", chinese=True), "enterprise", "t")
    masked = json.loads(query(home, "SELECT row_masked FROM audit.quarantine")[0][0])
    assert masked["frontline_workers"] == "9999" and masked["enterprise_name"] == "测试企业0"
    assert masked["contact_person"] == pseudonym.MASK and masked["contact_phone"] == pseudonym.MASK


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
    out = ingest_file(home, path, "survey", "t")
    assert (out.outcome, out.rows_read) == ("loaded", 400)
    assert query(home, "SELECT encoding FROM audit.load_log")[0][0] == "gb18030"
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] + out.rows_quarantined == 400


def test_unreadable_workbook_is_refused(home: Home, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "w.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    assert _refusal(home, tmp_path / "w.xlsx") == "unreadable"
    out = capsys.readouterr()
    assert "rejected" in out.out and "Traceback" not in out.out + out.err


# --- exactly once ------------------------------------------------------------------------------------------------


def test_the_same_bytes_twice_load_once(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(6))
    copy = tmp_path / "again.csv"
    copy.write_bytes(path.read_bytes())
    assert ingest_file(home, path, "survey", "t").outcome == "loaded"
    assert ingest_file(home, copy, "survey", "t").outcome == "duplicate"
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 6
    assert sorted(r[0] for r in query(home, "SELECT outcome FROM audit.load_log")) == ["duplicate", "loaded"]


def test_resubmission_keeps_every_version(home: Home, tmp_path: Path) -> None:
    first = enterprise_rows(3)
    ingest_file(home, write_csv(tmp_path / "e1.csv", first, source="enterprise"), "enterprise", "t")
    corrected = [dict(first[1], employees_total="520", submitted_at="2026-04-01 09:00:00")]
    ingest_file(home, write_csv(tmp_path / "e2.csv", corrected, source="enterprise"), "enterprise", "t")
    versions = query(
        home,
        "SELECT employees_total, submitted_at FROM raw.enterprise_returns WHERE uscc = ? ORDER BY submitted_at",
        [first[1]["uscc"]],
    )
    assert [v[0] for v in versions] == [500, 520]


def test_rows_read_equal_accepted_plus_quarantined(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(10)
    rows[1]["age"] = "200"
    rows[7]["sex"] = "9"
    ingest_file(home, write_csv(tmp_path / "a.csv", rows), "survey", "t")
    bad = enterprise_rows(5)
    bad[0]["edu_fund_frontline"] = "99"
    ingest_file(home, write_csv(tmp_path / "b.csv", bad, source="enterprise"), "enterprise", "t")
    for read, accepted, quarantined, sha in query(
        home, "SELECT rows_read, rows_accepted, rows_quarantined, file_sha256 FROM audit.load_log"
    ):
        assert read == accepted + quarantined
        stored = query(
            home,
            "SELECT (SELECT count(*) FROM raw.survey_responses WHERE batch_id = $1) + "
            "(SELECT count(*) FROM raw.enterprise_returns WHERE batch_id = $1)",
            [sha],
        )[0][0]
        held = query(home, "SELECT count(*) FROM audit.quarantine WHERE file_sha256 = ?", [sha])[0][0]
        assert (stored, held) == (accepted, quarantined)


def _ingested(home: Home) -> dict[str, list[tuple]]:
    """What ingestion left in the warehouse, without the run's ids and clock times."""
    return {
        "survey": query(home, "SELECT * EXCLUDE (loaded_at) FROM raw.survey_responses ORDER BY ALL"),
        "enterprise": query(home, "SELECT * EXCLUDE (loaded_at) FROM raw.enterprise_returns ORDER BY ALL"),
        "quarantine": query(
            home,
            "SELECT * EXCLUDE (run_id, quarantined_at) REPLACE (row_masked::VARCHAR AS row_masked) "
            "FROM audit.quarantine ORDER BY ALL",
        ),
        "log": query(home, "SELECT * EXCLUDE (run_id, loaded_at) FROM audit.load_log ORDER BY ALL"),
        "validations": query(home, "SELECT * EXCLUDE (run_id, checked_at) FROM audit.validation_results ORDER BY ALL"),
        "left over": query(
            home, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'landing' OR temporary ORDER BY ALL"
        )
        + query(home, "SELECT file_sha256 FROM audit.staged_batches"),
    }


def test_one_transaction_per_file_leaves_what_the_three_steps_leave(tmp_path: Path) -> None:
    """`wfm ingest` takes each file in one transaction, its accepted rows straight into raw (taken out again when
    the gate refuses the batch); the DAG's three steps (stage, gate, promote, each committing, with a landing
    table between them) must leave the very same rows, quarantine, validations and log."""
    quarantined = survey_rows(12)
    quarantined[2]["age"] = "90"
    one_psu = survey_rows(6, wave="2027", prefix="S")
    for row in one_psu:
        row["psu"] = "P0"  # one PSU per stratum: the gate refuses the batch
    files = {
        "a_wave.csv": ("survey", quarantined),
        "b_one_psu.csv": ("survey", one_psu),
        "c_returns.csv": ("enterprise", enterprise_rows(6)),
    }
    homes = {}
    for way in ("three steps", "one transaction"):
        home = Home.resolve(tmp_path / way.replace(" ", "_")).ensure()
        paths = [
            (source, write_csv(home.inbox(source) / name, rows, source=source))
            for name, (source, rows) in files.items()
        ]
        if way == "three steps":
            outcomes = [ingest_file(home, path, source, "t") for source, path in paths]
        else:
            outcomes = ingest_all(home, paths, run_id="t")
        assert [o.outcome for o in outcomes] == ["loaded", "rejected", "loaded"]
        homes[way] = home
    three, one = (_ingested(h) for h in homes.values())
    assert three == one
    assert len(one["survey"]) == 11 and len(one["quarantine"]) == 1 and one["left over"] == []


def test_the_sources_are_ingested_side_by_side_each_in_its_own_order(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ingest_all takes each source on a thread of its own: a source's files keep their order (a later wave's
    respondent already in an earlier file is a duplicate), the outcomes come back in the order asked for, and
    one progress line per file is numbered as the files finish."""
    import wfm.pipeline as pipeline

    threads: dict[str, set[str]] = {"survey": set(), "enterprise": set()}
    real = pipeline.ingest_file

    def on_thread(home: Home, path: Path, source: str, run_id: str, docs: bool, con: object) -> object:
        threads[source].add(threading.current_thread().name)
        return real(home, path, source, run_id, docs=docs, con=con)

    monkeypatch.setattr(pipeline, "ingest_file", on_thread)
    first = survey_rows(12)
    again = survey_rows(12, prefix="B")
    again[4]["respondent_id"] = first[4]["respondent_id"]
    paths = [
        ("enterprise", write_csv(home.inbox("enterprise") / "e1.csv", enterprise_rows(6), source="enterprise")),
        ("survey", write_csv(home.inbox("survey") / "s1.csv", first)),
        ("enterprise", write_csv(home.inbox("enterprise") / "e2.csv", enterprise_rows(6, "2027"), source="enterprise")),
        ("survey", write_csv(home.inbox("survey") / "s2.csv", again)),
    ]
    lines: list[str] = []
    outcomes = ingest_all(home, paths, run_id="t", echo=lines.append)
    assert [o.file_name for o in outcomes] == ["e1.csv", "s1.csv", "e2.csv", "s2.csv"]
    assert [(o.outcome, o.rows_quarantined) for o in outcomes] == [("loaded", 0)] * 3 + [("loaded", 1)]
    assert quarantine_reasons(home) == {5: {"respondent_id_duplicate"}}
    assert sorted(line.split("]")[0] for line in lines) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert len(threads["survey"]) == len(threads["enterprise"]) == 1 and threads["survey"] != threads["enterprise"]


def test_an_error_in_one_source_stops_the_other_before_its_next_file(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wfm.pipeline as pipeline

    under_way, failed = threading.Event(), threading.Event()
    real = pipeline.ingest_file
    started: list[str] = []

    def broken_survey(home: Home, path: Path, source: str, run_id: str, docs: bool, con: object) -> object:
        started.append(path.name)
        if source == "survey":
            assert under_way.wait(10)
            failed.set()
            raise OSError("the disk went away")
        under_way.set()
        assert failed.wait(10)  # the survey file fails while this one is under way
        time.sleep(0.2)
        return real(home, path, source, run_id, docs=docs, con=con)

    monkeypatch.setattr(pipeline, "ingest_file", broken_survey)
    paths = [
        ("survey", write_csv(home.inbox("survey") / "s.csv", survey_rows(12))),
        ("enterprise", write_csv(home.inbox("enterprise") / "e1.csv", enterprise_rows(6), source="enterprise")),
        ("enterprise", write_csv(home.inbox("enterprise") / "e2.csv", enterprise_rows(6, "2027"), source="enterprise")),
    ]
    with pytest.raises(OSError, match="the disk went away"):
        ingest_all(home, paths, run_id="t")
    assert sorted(started) == ["e1.csv", "s.csv"]
    assert query(home, "SELECT file_name, outcome FROM audit.load_log") == [("e1.csv", "loaded")]
    assert (home.inbox("enterprise") / "e2.csv").exists() and (home.inbox("survey") / "s.csv").exists()


def test_reading_a_file_keeps_the_insertion_order_of_its_own_connection_only(home: Home) -> None:
    from wfm.formats import _file_order

    con = open_warehouse(home)
    reader = con.cursor()

    def kept(c: duckdb.DuckDBPyConnection) -> bool:
        return c.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    try:
        with _file_order(reader):
            assert (kept(reader), kept(con)) == (True, False)
        assert (kept(reader), kept(con)) == (False, False)
    finally:
        reader.close()
        con.close()


@pytest.mark.parametrize("way", ["three steps", "one transaction"])
def test_a_batch_staged_by_an_interrupted_run_is_gated_and_promoted_by_the_next(home: Home, way: str) -> None:
    """The DAG's stage task committed a batch and the run stopped there: the next run, either way, finishes it
    from the gate instead of staging the file again."""
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(9))
    assert stage(home, path, "survey", "interrupted").outcome == "staged"
    if way == "three steps":
        out = ingest_file(home, path, "survey", "next")
    else:
        (out,) = ingest_all(home, run_id="next")
    assert (out.outcome, out.rows_accepted, set(out.timings)) == ("loaded", 9, {"load", "gate", "promote"})
    assert query(home, "SELECT count(*), count(DISTINCT row_number) FROM raw.survey_responses")[0] == (9, 9)
    assert _ingested(home)["left over"] == []
    assert query(home, "SELECT outcome FROM audit.load_log") == [("loaded",)]


CRASH_SCRIPT = """
import os, signal, sys
from pathlib import Path
import wfm.ingest as ingest
from wfm.config import Home
point = sys.argv[3]
original = getattr(ingest, point)
def crash(*args, **kwargs):
    if point == "_log":  # inside the promote transaction, after raw rows were inserted
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(ingest, point, crash)
home = Home.resolve(sys.argv[1]).ensure()
if sys.argv[4] == "three steps":
    ingest.ingest_file(home, Path(sys.argv[2]), "survey", "crash")
else:
    from wfm.pipeline import ingest_all
    ingest_all(home, [("survey", Path(sys.argv[2]))], run_id="crash")
"""


@pytest.mark.parametrize("way", ["three steps", "one transaction"])
@pytest.mark.parametrize("point", ["_stage_rows", "_log"])
def test_a_killed_ingest_leaves_no_trace_and_a_rerun_finishes(home: Home, tmp_path: Path, point: str, way: str) -> None:
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(9))
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(home.root), str(path), point, way],
        env={**os.environ, "WFM_DEMO": "1"},
        capture_output=True,
    )
    assert done.returncode == -9
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 0
    assert query(home, "SELECT count(*) FROM audit.load_log")[0][0] == 0
    assert path.exists()  # still waiting in the inbox
    if way == "three steps":
        outcome = ingest_file(home, path, "survey", "rerun")
    else:
        (outcome,) = ingest_all(home, [("survey", path)], run_id="rerun")
    assert (outcome.outcome, outcome.rows_accepted) == ("loaded", 9)
    assert query(home, "SELECT count(*), count(DISTINCT respondent_id) FROM raw.survey_responses")[0] == (9, 9)


def test_gate_failure_keeps_the_batch_out(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(6))
    staged = stage(home, path, "survey", "t")
    out = promote(home, path, staged.sha256, "t", passed=False, failed=["survey.example"])
    assert out.outcome == "rejected" and "survey.example" in out.reason
    assert query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 0
    assert (home.rejected / "survey" / "w.csv.reason.txt").exists()


# --- personal data -----------------------------------------------------------------------------------------------


def test_hmac_in_sql_equals_python_hmac() -> None:
    key = b"k" * 80  # longer than a block: RFC 2104 hashes it first
    ipad, opad = pseudonym.hmac_pads(key)
    ids = [valid_id("110105", "19491231", 2), "11010519491231002X", "abc"]
    con = duckdb.connect()
    got = [
        r[0]
        for r in con.execute(
            f"SELECT {pseudonym.hmac_sql('s')} FROM unnest($ids) t(s)", {"ids": ids, "ipad": ipad, "opad": opad}
        ).fetchall()
    ]
    assert got == [pseudonym.hmac_hex(key, i) for i in ids]


def test_ingest_refuses_to_run_without_a_key_outside_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFM_DEMO", raising=False)
    monkeypatch.delenv("WFM_HMAC_KEY", raising=False)
    with pytest.raises(WfmError, match="WFM_HMAC_KEY"):
        pseudonym.secret_key()


def test_a_failing_gate_query_is_the_error_reported(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DuckDB error inside the gate leaves the file's transaction aborted; cleaning up the batch's views must
    not replace the gate's own error with DuckDB's "transaction is aborted", and nothing of the file stays."""
    import wfm.gate

    def failing(con: duckdb.DuckDBPyConnection, **_: object) -> None:
        try:
            con.execute("SELECT * FROM no_such_profile_table")
        except duckdb.Error as exc:
            raise WfmError("profile query survey_batch/x failed", rule="gate_profile") from exc

    monkeypatch.setattr(wfm.gate, "validate_batch", failing)
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    with pytest.raises(WfmError, match="profile query survey_batch/x failed"):
        ingest_all(home, [("survey", path)])
    assert path.exists() and query(home, "SELECT count(*) FROM raw.survey_responses")[0][0] == 0


def test_a_night_without_a_key_stops_before_reading_any_file(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is looked up before the first file is read, not when a file's rows are pseudonymised: nothing is
    read, logged or moved, and the message says what to set."""
    monkeypatch.delenv("WFM_DEMO", raising=False)
    monkeypatch.delenv("WFM_HMAC_KEY", raising=False)
    survey = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    returns = write_csv(home.inbox("enterprise") / "e.csv", enterprise_rows(6), source="enterprise")
    with pytest.raises(WfmError, match="WFM_HMAC_KEY"):
        ingest_all(home)
    assert survey.exists() and returns.exists() and not home.warehouse.exists()


def test_a_reader_that_stops_reading_does_not_stop_the_ingestion(home: Home) -> None:
    """`wfm ingest | head -1`: the second file is still loaded, and no traceback is printed."""
    write_csv(home.inbox("survey") / "a.csv", survey_rows(12, prefix="A"))
    write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfm.cli", "--home", str(home.root), "ingest"],
        env={**os.environ, "WFM_DEMO": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()
    assert first.startswith("[1/2] loaded"), first
    proc.stdout.close()  # the reader goes away before the second line
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr
    assert query(home, "SELECT count(*) FROM audit.load_log WHERE outcome = 'loaded'")[0][0] == 2


def test_no_id_number_or_phone_anywhere_under_the_home(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    survey = survey_rows(12)
    survey[3]["age"] = "99"  # quarantined rows must not leak either
    firms = enterprise_rows(4)
    firms[2]["frontline_workers"] = "9999"
    write_csv(home.inbox("survey") / "s.csv", survey, encoding="gb18030", chinese=True)
    write_csv(home.inbox("enterprise") / "e.csv", firms, source="enterprise")
    assert cli.main(["--home", str(home.root), "ingest"]) == 0
    secrets = {r["id_number"] for r in survey} | {r["contact_phone"] for r in firms} | {"联系人张三丰"}
    printed = capsys.readouterr()
    delivered = {home.root / "inbox", home.archive, home.rejected}  # the deliveries themselves, kept untouched
    scanned = 0
    for path in home.root.rglob("*"):
        if path.is_file() and not any(folder in path.parents for folder in delivered):
            data = path.read_bytes()
            scanned += 1
            for secret in secrets:
                for encoding in ("utf-8", "gb18030", "utf-16-le"):
                    assert secret.encode(encoding) not in data, f"{secret!r} found in {path}"
    assert scanned >= 1
    for secret in secrets:
        assert secret not in printed.out + printed.err


def test_background_imports_finish_before_their_users_import() -> None:
    """The night imports Great Expectations on a thread (wfm.warmup), and later the publication's libraries;
    their users wait for both first, since importing one package from two threads at once can see a partially
    initialised module. The shorter thread-switch interval of the imports is put back afterwards, also when
    the second batch is started while the first still runs."""
    code = (
        "import sys; from wfm import warmup; warmup.wait(); before = sys.getswitchinterval(); warmup.start(); "
        "warmup.start(warmup.PUBLICATION_MODULES); warmup.start(); warmup.wait(); "
        "assert all(m in sys.modules for m in ('great_expectations', *warmup.PUBLICATION_MODULES)); "
        "assert sys.getswitchinterval() == before, sys.getswitchinterval(); "
        "import wfm.gate, wfm.build, wfm.exports"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("airflow", [False, True])
def test_great_expectations_is_imported_without_sqlalchemy_unless_airflow_may_need_it(
    airflow: bool, tmp_path: Path
) -> None:
    """The warm-up hides SQLAlchemy from Great Expectations' import (its SQL datasources are never used), and
    SQLAlchemy is importable again afterwards; not when the key may come from Airflow, whose import needs it
    and may run on the night's thread meanwhile. scipy.stats, which GX imports for expectations the gate does
    not use, is loaded only when first used: a batch's validation does not load it, and it works afterwards.
    Either way the gate validates and loads a batch."""
    (tmp_path / "inbox" / "survey").mkdir(parents=True)
    path = write_csv(tmp_path / "inbox" / "survey" / "w.csv", survey_rows(6))
    code = (
        "import sys; from pathlib import Path; from wfm import warmup; from wfm.config import Home; "
        "from wfm.pipeline import ingest_all; warmup.start(); "
        f"(out,) = ingest_all(Home(Path({str(tmp_path)!r})), [('survey', Path({str(path)!r}))]); "
        "from great_expectations.compatibility import sqlalchemy as compat; "
        "hidden = compat.sqlalchemy is compat.SQLALCHEMY_NOT_IMPORTED; "
        "deferred = 'scipy.stats._stats_py' not in sys.modules; "
        "import sqlalchemy; from scipy import stats; assert abs(stats.entropy([1, 1], [1, 1])) < 1e-12; "
        "print(out.outcome, 'hidden' if hidden else 'imported', 'deferred' if deferred else 'loaded')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER")}
    env["WFM_DEMO"] = "1"
    if airflow:
        env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "loaded " + ("imported" if airflow else "hidden") + " deferred"


def test_row_numbers_are_the_file_rows_of_a_large_file(tmp_path) -> None:
    """A 40 MB file is read by several threads; the numbering must still follow the file, or quarantine and raw
    would name the wrong rows (at national scale they did: 9 of 10 row numbers pointed elsewhere)."""
    from wfm.formats import read_into
    from wfm.schema import COLUMNS
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
    from wfm.formats import read_into
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
