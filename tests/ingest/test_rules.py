"""The row rules as a statistician sees them: every row sent is in raw or in quarantine with its reasons.

Files are ingested with `docs=False`: these tests read the warehouse, not the Data Docs (tests/gate reads
those), and rendering the Data Docs costs more than ingesting a small file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import (
    enterprise_rows,
    quarantine_reasons,
    query,
    survey_rows,
    write_csv,
)

from wfm.config import Home
from wfm.errors import WfmError
from wfm.ingest import ingest_all, ingest_file, pseudonym

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


@pytest.fixture(scope="module")
def survey_delivery(tmp_path_factory: pytest.TempPathFactory) -> dict[int, set[str]]:
    """One file breaking each rule of SURVEY_BAD in a row of its own (row i + 1 breaks rule i), followed by
    twelve good rows: the quarantine reasons by row number, once the file has loaded."""
    home = Home.resolve(tmp_path_factory.mktemp("survey_rules") / "home").ensure()
    rows = survey_rows(len(SURVEY_BAD) + 12)
    for row, (column, value, _) in zip(rows, SURVEY_BAD, strict=False):
        row[column] = value
    out = ingest_file(home, write_csv(home.root / "w.csv", rows), "survey", "t", docs=False)
    assert (out.outcome, out.rows_accepted, out.rows_quarantined) == ("loaded", 12, len(SURVEY_BAD))
    return quarantine_reasons(home)


@pytest.mark.parametrize(("rule", "column", "value", "reason"), [(i, *bad) for i, bad in enumerate(SURVEY_BAD)])
def test_each_survey_row_rule_quarantines_its_row(
    survey_delivery: dict[int, set[str]], rule: int, column: str, value: str, reason: str
) -> None:
    assert reason in survey_delivery[rule + 1], f"{column}={value!r}"


#: numbers DuckDB parses but no statistic can use (an infinite or NaN weight, 1e30 in an integer column): the row
#: is quarantined with one reason, and the file still loads
NOT_NUMBERS = [
    ("design_weight", "nan", "design_weight_not_number"),
    ("monthly_wage", "inf", "monthly_wage_not_number"),
    ("weekly_hours", "-Infinity", "weekly_hours_not_number"),
    ("training_hours_12m", "1e400", "training_hours_12m_not_number"),
    ("age", "NaN", "age_not_number"),
    ("age", "1e30", "age_out_of_range"),
]


def test_numbers_no_statistic_can_use_are_quarantined_and_the_file_loads(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(12)  # rows 1-6 (one of each PSU per stratum) get the values; the gate keeps its PSUs
    for row, (column, value, _) in zip(rows, NOT_NUMBERS, strict=False):
        row[column] = value
    path = write_csv(home.inbox("survey") / "w.csv", rows)
    (out,) = ingest_all(home, [("survey", path)], run_id="t", docs=False)
    assert (out.outcome, out.rows_accepted, out.rows_quarantined) == ("loaded", 6, 6)
    assert quarantine_reasons(home) == {i + 1: {reason} for i, (_, _, reason) in enumerate(NOT_NUMBERS)}


def test_a_count_beyond_bigint_is_out_of_range_and_nan_only_not_a_number(home: Home, tmp_path: Path) -> None:
    rows = enterprise_rows(4)
    rows[1]["employees_total"] = "1e30"
    rows[2]["edu_fund_frontline"] = "nan"  # NaN > edu_fund_used would hold in DuckDB: no cross-rule reason
    out = ingest_file(home, write_csv(tmp_path / "e.csv", rows, source="enterprise"), "enterprise", "t", docs=False)
    assert (out.rows_accepted, out.rows_quarantined) == (2, 2)
    assert quarantine_reasons(home) == {2: {"employees_total_out_of_range"}, 3: {"edu_fund_frontline_not_number"}}


def _rules_buggy_once(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Make the row rules' query of the next file `SELECT *<change> FROM (<the real query>)`, a bug of theirs;
    the files after it are checked by the real query."""
    from wfm.ingest import rules

    checked_sql = rules.checked_sql
    calls = []

    def buggy_once(source: str, text: str, present: list[str]) -> str:
        calls.append(text)
        return f"SELECT *{change if len(calls) == 1 else ''} FROM ({checked_sql(source, text, present)})"

    monkeypatch.setattr(rules, "checked_sql", buggy_once)


@pytest.mark.parametrize("way", ["file by file", "a run"])
def test_row_checks_that_fail_refuse_the_file_without_quoting_it_and_the_night_goes_on(
    home: Home, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """A value the rules cannot type is a bug; it must not end the night, lose the file or leak the value, nor
    refuse the files after it (in a run: on the same connection)."""
    secret = "440101199006150011"
    # the kind of query a rule's bug makes: a CAST of a file's value (DuckDB's message quotes the value)
    _rules_buggy_once(monkeypatch, ", CAST(id_number AS INTEGER) AS boom")
    bad = write_csv(home.inbox("survey") / "a.csv", [dict(r, id_number=secret) for r in survey_rows(12)])
    good = write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    if way == "file by file":
        out, after = (
            ingest_file(home, bad, "survey", "t", docs=False),
            ingest_file(home, good, "survey", "t", docs=False),
        )
    else:
        out, after = ingest_all(home, [("survey", bad), ("survey", good)], run_id="t", docs=False)
    assert out.outcome == "rejected" and "row_rules" in out.reason and secret not in out.reason
    reason_file = home.rejected / "survey" / "a.csv.reason.txt"
    assert reason_file.exists() and secret not in reason_file.read_text(encoding="utf-8")
    assert (after.outcome, after.rows_accepted) == ("loaded", 12)


def test_a_required_value_the_row_rules_missed_keeps_the_file_out_of_raw(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """raw's required columns are NOT NULL: a row that reaches it without one (a bug of the row rules) refuses
    its file, named with the column, in one transaction: nothing of the file is in raw, and the next file loads."""
    _rules_buggy_once(monkeypatch, " REPLACE (CAST(NULL AS VARCHAR) AS psu)")
    bad = write_csv(home.inbox("survey") / "a.csv", survey_rows(12))
    good = write_csv(home.inbox("survey") / "b.csv", survey_rows(12, prefix="B"))
    out, after = ingest_all(home, [("survey", bad), ("survey", good)], run_id="t", docs=False)
    assert out.outcome == "rejected" and "raw_not_null" in out.reason and "column psu" in out.reason
    assert (home.rejected / "survey" / "a.csv").exists()
    assert (after.outcome, after.rows_accepted) == ("loaded", 12)
    assert query(home, "SELECT count(*), count(DISTINCT batch_id) FROM raw.survey_responses") == [(12, 1)]


def test_a_raw_table_from_before_the_constraints_gets_them_and_refuses_missing_values(tmp_path: Path) -> None:
    """A warehouse whose raw tables were created with nullable required columns: ensure_schema declares them
    NOT NULL (DuckDB checks the rows held), and one holding a row without a required value is reported."""
    from wfm.contract import COLUMNS
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
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t", docs=False)
    reasons = quarantine_reasons(home)
    assert reasons == {2: {"id_number_check_digit"}, 3: {"sex_id_mismatch"}, 4: {"age_id_mismatch"}}


def test_training_hours_without_training_and_duplicates(home: Home, tmp_path: Path) -> None:
    rows = survey_rows(12)
    rows[0].update(trained_12m="否", training_hours_12m="10")
    rows[4]["respondent_id"] = rows[3]["respondent_id"]
    ingest_file(home, write_csv(tmp_path / "w.csv", rows), "survey", "t", docs=False)
    assert quarantine_reasons(home) == {1: {"training_hours_without_training"}, 5: {"respondent_id_duplicate"}}
    # In a later file of the same wave: R00001 was loaded, so it is a duplicate; R00000 was quarantined, so its
    # corrected row is welcome (and the rest of the file keeps two PSUs per stratum for the gate).
    later = [r for r in survey_rows(12) if r["respondent_id"] != "R00003"]
    later = [later[0], later[1]] + [dict(r, respondent_id=f"N{i}") for i, r in enumerate(later[2:])]
    ingest_file(home, write_csv(tmp_path / "later.csv", later), "survey", "t", docs=False)
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


@pytest.fixture(scope="module")
def enterprise_delivery(tmp_path_factory: pytest.TempPathFactory) -> dict[int, set[str]]:
    """One file of returns breaking each rule of ENTERPRISE_BAD in a row of its own (row i + 1 breaks rule i),
    followed by three good returns: the quarantine reasons by row number, once the file has loaded."""
    home = Home.resolve(tmp_path_factory.mktemp("enterprise_rules") / "home").ensure()
    rows = enterprise_rows(len(ENTERPRISE_BAD) + 3)
    for row, (change, _) in zip(rows, ENTERPRISE_BAD, strict=False):
        row.update(change)
    out = ingest_file(home, write_csv(home.root / "e.csv", rows, source="enterprise"), "enterprise", "t", docs=False)
    assert (out.outcome, out.rows_accepted, out.rows_quarantined) == ("loaded", 3, len(ENTERPRISE_BAD))
    return quarantine_reasons(home)


@pytest.mark.parametrize(("rule", "change", "reason"), [(i, *bad) for i, bad in enumerate(ENTERPRISE_BAD)])
def test_each_enterprise_row_rule_quarantines_its_row(
    enterprise_delivery: dict[int, set[str]], rule: int, change: dict, reason: str
) -> None:
    assert reason in enterprise_delivery[rule + 1], change


def test_quarantine_keeps_values_but_masks_personal_fields(home: Home, tmp_path: Path) -> None:
    rows = enterprise_rows(3)
    rows[0]["frontline_workers"] = "9999"
    ingest_file(
        home, write_csv(tmp_path / "e.csv", rows, source="enterprise", chinese=True), "enterprise", "t", docs=False
    )
    masked = json.loads(query(home, "SELECT row_masked FROM audit.quarantine")[0][0])
    assert masked["frontline_workers"] == "9999" and masked["enterprise_name"] == "测试企业0"
    assert masked["contact_person"] == pseudonym.MASK and masked["contact_phone"] == pseudonym.MASK
