"""The validation gate: each rule passes on good data and catches the batch or mart made to break it.

Batches are built directly in an in-memory DuckDB (the raw tables' columns, `wfm.warehouse.ensure_schema`), with
an earlier wave / period in raw where a rule compares with one. One GX folder serves the whole module, as one
process serves the pipeline.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
import pytest

from wfm.config import Home
from wfm.contract import SURVEY
from wfm.errors import WfmError
from wfm.gate import GateConfig, GateResult, build_docs, context, prepare_marts, validate_batch, validate_marts
from wfm.gate.config import EXPECTATIONS_DIR
from wfm.gate.context import session
from wfm.gate.profiles import FORBIDDEN_COLUMNS, run_profiles, stack
from wfm.gate.suites import SUITES, SuiteSpec, load_suite
from wfm.warehouse import ensure_schema

# 4 strata × 3 PSUs, every question answered (routed ones only by those asked), 10 persons per stratum × PSU.
SURVEY_SQL = """
select
  $batch_id as batch_id, i + 1 as row_number, $wave as survey_wave, $wave || '-' || lpad(i::varchar, 5, '0')
    as respondent_id, sha256('person ' || i || ' of ' || $wave) as person_key, 'S' || (i % 4) as stratum,
  'S' || (i % 4) || '-P' || ((i // 4) % 3) as psu, $weight as design_weight,
  ['110105', '310101', '440100'][1 + i % 3] as region_code,
  case when i % 4 < 2 then '91440101MA5D00001X' end as employer_uscc, 'C3411' as industry_code,
  '6-01-02' as occupation_code, 1 + i % 2 as sex, 20 + i % 40 as age, 1 + i % 3 as hukou_type,
  1 + i % 5 as education, 'L' || (i % 8) as skill_level, case when i % 9 = 0 then '市级' end as craftsman_title,
  1 + i % 4 as employment_form, [1, 2, 3, 9][1 + i % 4] as contract_type, 4000.0 + i as monthly_wage,
  44.0 as weekly_hours, 12.0 as overtime_hours_month, i % 2 = 0 as trained_12m,
  (i % 2 = 0)::int * 16.0 as training_hours_12m, false as continuing_education, true as certificate,
  true as union_member, false as party_member, true as social_insurance_injury,
  case when i % 4 = 2 then i % 8 = 2 end as occupational_injury_protection, false as competition_12m,
  false as innovation_12m, false as wage_arrears_12m, 4 as sense_achievement, 3 as sense_gain,
  5 as sense_happiness, timestamp '2026-06-01 00:00:00' as loaded_at
from range($rows) as t(i)
"""

ENTERPRISE_SQL = """
select
  $batch_id as batch_id, i + 1 as row_number, $period as report_period,
  '9144010' || lpad(i::varchar, 10, '0') || 'X' as uscc, '测试企业' || i as enterprise_name,
  ['110105', '310101', '440100'][1 + i % 3] as region_code, 'C3411' as industry_code, 173 as registration_type,
  false as state_controlled, 12000.0 as revenue, 500 as employees_total, 480 as employees_avg,
  300 as frontline_workers, 20 as dispatched_workers, 470 as contract_signed, 4000.0 as payroll_total,
  80.0 as edu_fund_extracted, 60.0 as edu_fund_used, 40.0 as edu_fund_frontline,
  $submitted + to_minutes(i::bigint) as submitted_at, timestamp '2026-06-01 00:00:00' as loaded_at
from range($rows) as t(i)
"""

WAVE_ROWS = 120
WEIGHT = 1000.0


@pytest.fixture(scope="module")
def gate_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return Home.resolve(tmp_path_factory.mktemp("gate") / "home")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    yield con
    con.close()


def add_survey(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    wave: str = "2026",
    batch_id: str = "b-2026",
    weight: float = WEIGHT,
    rows: int = WAVE_ROWS,
) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM raw.survey_responses LIMIT 0")
    con.execute(
        f"INSERT INTO {table} BY NAME {SURVEY_SQL}",
        {"batch_id": batch_id, "wave": wave, "weight": weight, "rows": rows},
    )


def add_enterprise(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    period: str = "2026",
    batch_id: str = "e-2026",
    rows: int = 30,
    submitted: str = "2027-01-10 09:00:00",
) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM raw.enterprise_returns LIMIT 0")
    con.execute(
        f"INSERT INTO {table} BY NAME {ENTERPRISE_SQL}",
        {"batch_id": batch_id, "period": period, "rows": rows, "submitted": pd.Timestamp(submitted)},
    )


@pytest.fixture
def survey(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An earlier wave in raw and a good batch of the next wave in landing.batch_s."""
    add_survey(con, "raw.survey_responses", wave="2025", batch_id="b-2025")
    add_survey(con, "landing.batch_s")
    return con


@pytest.fixture
def enterprise(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    add_enterprise(con, "raw.enterprise_returns", period="2025", batch_id="e-2025", submitted="2026-01-10")
    add_enterprise(con, "landing.batch_e")
    return con


# The Data Docs index loads every stored result on each build: a short history keeps the tests quick.
TEST_CONFIG = GateConfig(docs_history=3)


def config(**settings: object) -> GateConfig:
    return replace(TEST_CONFIG, **settings)


# The tests that do not look at the Data Docs leave them unrendered (`docs=False`): rendering costs more than
# validating, and the verdict and the audit rows are the same either way.


def gate_survey(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    config: GateConfig = TEST_CONFIG,
    batch_id: str = "b-2026",
    docs: bool = False,
) -> GateResult:
    return validate_batch(
        con,
        source="survey",
        table="landing.batch_s",
        batch_id=batch_id,
        run_id="test",
        home=home,
        config=config,
        docs=docs,
    )


def gate_enterprise(con: duckdb.DuckDBPyConnection, home: Home, config: GateConfig = TEST_CONFIG) -> GateResult:
    return validate_batch(
        con,
        source="enterprise",
        table="landing.batch_e",
        batch_id="e-2026",
        run_id="test",
        home=home,
        config=config,
        docs=False,
    )


def observed(con: duckdb.DuckDBPyConnection, batch_id: str, expectation: str) -> str:
    return con.execute(
        "SELECT observed_value FROM audit.validation_results WHERE file_sha256 = ? "
        "AND expectation = ? ORDER BY checked_at DESC LIMIT 1",
        [batch_id, expectation],
    ).fetchone()[0]


# --- survey batches -------------------------------------------------------------------------------------------


def test_good_survey_batch_passes_and_leaves_one_audit_row_per_expectation(survey, gate_home):
    res = gate_survey(survey, gate_home, docs=True)
    assert (res.success, res.failed_critical, res.warnings) == (True, [], [])
    rows = survey.execute(
        "SELECT suite, expectation, severity, success, run_id FROM audit.validation_results "
        "WHERE file_sha256 = 'b-2026'"
    ).fetchall()
    names = [e.name for e in load_suite("survey_batch").expectations]
    assert sorted(r[1] for r in rows) == sorted(names)
    assert {(r[0], r[3], r[4]) for r in rows} == {("survey_batch", True, "test")}
    assert {r[2] for r in rows} == {"critical", "warning"}
    assert res.docs_index.is_file() and res.docs_index.name == "index.html"
    assert res.docs_index.is_relative_to(gate_home.gx)
    assert "weight_ratio=1" in observed(survey, "b-2026", "survey.weight_sum_within_band")


def test_first_wave_passes_with_a_warning_that_nothing_was_compared(con, gate_home):
    add_survey(con, "landing.batch_s")
    res = gate_survey(con, gate_home)
    assert res.success and res.failed_critical == []
    assert res.warnings == ["survey.wave_fully_checked"]
    note = observed(con, "b-2026", "survey.wave_fully_checked")
    assert "weight_sum: nothing to compare with" in note and "strata: no design or earlier wave" in note


def test_one_psu_in_a_stratum_blocks_the_batch(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET psu = 'S1-P0' WHERE stratum = 'S1'")
    res = gate_survey(survey, gate_home)
    assert not res.success and res.failed_critical == ["survey.min_two_psus_per_stratum"]
    assert "stratum S1: psu_count=1" in observed(survey, "b-2026", "survey.min_two_psus_per_stratum")


def test_psus_of_the_same_wave_already_loaded_count(survey, gate_home):
    """A wave in two files: the stratum has one PSU in this batch but another one in raw already."""
    survey.execute("UPDATE landing.batch_s SET psu = 'S1-P0' WHERE stratum = 'S1'")
    add_survey(survey, "raw.survey_responses", batch_id="b-2026-part1", rows=8)
    survey.execute(
        "UPDATE raw.survey_responses SET respondent_id = 'part1-' || row_number, design_weight = 1 "
        "WHERE batch_id = 'b-2026-part1'"
    )
    res = gate_survey(survey, gate_home)
    assert "survey.min_two_psus_per_stratum" not in res.failed_critical


def test_a_zero_weight_blocks_the_batch(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET design_weight = 0 WHERE row_number = 7")
    res = gate_survey(survey, gate_home)
    assert res.failed_critical == ["survey.weights_positive"]


def test_weights_summing_to_half_the_previous_wave_block_the_batch(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET design_weight = design_weight / 2")
    res = gate_survey(survey, gate_home)
    assert res.failed_critical == ["survey.weight_sum_within_band"]
    assert "weight_ratio=0.5" in observed(survey, "b-2026", "survey.weight_sum_within_band")
    # the band is configuration: ±60 % lets the same batch through
    assert gate_survey(survey, gate_home, config(weight_band=0.6)).success


def test_a_configured_population_total_replaces_the_previous_wave(survey, gate_home):
    total = WAVE_ROWS * WEIGHT
    assert gate_survey(survey, gate_home, config(population_totals={"2026": total * 1.1})).success
    res = gate_survey(survey, gate_home, config(population_totals={"2026": total * 2}))
    assert res.failed_critical == ["survey.weight_sum_within_band"]


def test_population_total_and_design_strata_make_a_first_wave_fully_checked(con, gate_home):
    add_survey(con, "landing.batch_s")
    total = {"2026": WAVE_ROWS * WEIGHT}
    res = gate_survey(con, gate_home, config(population_totals=total, design_strata=("S0", "S1", "S2", "S3")))
    assert (res.success, res.warnings) == (True, [])
    # a design stratum not delivered yet: the wave is incomplete, its total cannot be judged yet
    res = gate_survey(con, gate_home, config(population_totals=total, design_strata=("S0", "S1", "S2", "S3", "S4")))
    assert res.success and res.warnings == ["survey.wave_fully_checked", "survey.design_strata_present"]
    assert "4 of 5 strata so far" in observed(con, "b-2026", "survey.wave_fully_checked")


def test_previous_wave_means_same_frequency(con, gate_home):
    """A quarterly wave is compared with the previous quarter, not with an annual wave of other weights."""
    add_survey(con, "raw.survey_responses", wave="2026", batch_id="b-2026")
    add_survey(con, "raw.survey_responses", wave="2026Q2", batch_id="b-q2", weight=WEIGHT / 4)
    add_survey(con, "landing.batch_s", wave="2026Q3", batch_id="b-q3", weight=WEIGHT / 4)
    res = gate_survey(con, gate_home, batch_id="b-q3")
    assert (res.success, res.warnings) == (True, [])
    assert "2026Q3: weight_ratio=1" in observed(con, "b-q3", "survey.weight_sum_within_band")


def test_duplicate_respondent_id_blocks_the_batch(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET respondent_id = '2026-00001' WHERE row_number = 5")
    res = gate_survey(survey, gate_home)
    assert res.failed_critical == ["survey.respondent_id_unique_per_wave"]
    assert "duplicated_ids=1" in observed(survey, "b-2026", "survey.respondent_id_unique_per_wave")


def test_a_respondent_id_already_loaded_for_the_wave_is_a_duplicate(survey, gate_home):
    add_survey(survey, "raw.survey_responses", batch_id="b-2026-part1", rows=1)
    survey.execute("UPDATE raw.survey_responses SET design_weight = 1 WHERE batch_id = 'b-2026-part1'")
    res = gate_survey(survey, gate_home)
    assert res.failed_critical == ["survey.respondent_id_unique_per_wave"]


def test_high_item_nonresponse_is_a_warning_only(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET monthly_wage = NULL WHERE row_number % 3 = 0")  # 33 %
    res = gate_survey(survey, gate_home)
    assert res.success and res.failed_critical == []
    assert res.warnings == ["survey.item_nonresponse_below_threshold"]
    assert "question monthly_wage: nonresponse_share=0.3333" in observed(
        survey, "b-2026", "survey.item_nonresponse_below_threshold"
    )
    assert gate_survey(survey, gate_home, config(item_nonresponse_max=0.4)).warnings == []


def test_routed_questions_count_only_those_asked(survey, gate_home):
    """occupational_injury_protection is asked of platform workers: the others' empty answers are no gap."""
    share = survey.execute("SELECT avg((occupational_injury_protection IS NULL)::int) FROM landing.batch_s").fetchone()[
        0
    ]
    assert share > 0.5  # empty for three workers in four, and still no warning
    assert gate_survey(survey, gate_home).warnings == []
    survey.execute("UPDATE landing.batch_s SET occupational_injury_protection = NULL WHERE row_number % 8 = 3")
    assert gate_survey(survey, gate_home).warnings == ["survey.item_nonresponse_below_threshold"]


def test_a_stratum_of_the_previous_wave_missing_is_a_warning(survey, gate_home):
    """It may be in a file still to come: recorded on every part until the wave is complete."""
    survey.execute("DELETE FROM landing.batch_s WHERE stratum = 'S3'")
    res = gate_survey(survey, gate_home)
    assert res.success and res.warnings == ["survey.wave_fully_checked", "survey.design_strata_present"]
    assert "stratum S3: present=false" in observed(survey, "b-2026", "survey.design_strata_present")
    assert "weight_ratio=1" in observed(survey, "b-2026", "survey.weight_sum_within_band")  # strata matched


def test_a_wave_in_two_files_is_judged_part_by_part_then_as_a_whole(survey, gate_home):
    """Part 1 holds strata S0, S1 and one PSU of S2; part 2 brings another PSU of S2 and S3. Part 1 passes with
    warnings (the wave is incomplete), part 2 completes the wave and passes clean, unless it leaves a stratum with
    a single PSU."""
    survey.execute("CREATE TABLE landing.part2 AS SELECT * FROM landing.batch_s WHERE stratum = 'S3' OR psu = 'S2-P1'")
    survey.execute("DELETE FROM landing.batch_s WHERE stratum = 'S3' OR psu IN ('S2-P1', 'S2-P2')")
    part1 = gate_survey(survey, gate_home)
    assert part1.success and part1.failed_critical == []
    assert part1.warnings == [
        "survey.wave_fully_checked",
        "survey.min_two_psus_per_stratum_so_far",
        "survey.design_strata_present",
    ]
    assert "3 of 4 strata so far" in observed(survey, "b-2026", "survey.wave_fully_checked")
    survey.execute("INSERT INTO raw.survey_responses SELECT * FROM landing.batch_s")  # promoted
    survey.execute("DROP TABLE landing.batch_s")
    survey.execute("ALTER TABLE landing.part2 RENAME TO batch_s")
    survey.execute("UPDATE landing.batch_s SET batch_id = 'b-2026-part2'")
    part2 = gate_survey(survey, gate_home, batch_id="b-2026-part2")
    assert (part2.success, part2.failed_critical, part2.warnings) == (True, [], [])
    # had part 2 brought S3 with a single PSU, the complete wave would be refused
    survey.execute("UPDATE landing.batch_s SET psu = 'S3-P0' WHERE stratum = 'S3'")
    part2 = gate_survey(survey, gate_home, batch_id="b-2026-part2")
    assert part2.failed_critical == ["survey.min_two_psus_per_stratum"]


def test_unknown_codes_and_missing_required_values_block_the_batch(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET sex = 3 WHERE row_number = 2")
    survey.execute("UPDATE landing.batch_s SET skill_level = '高级工' WHERE row_number = 3")
    survey.execute("UPDATE landing.batch_s SET age = 80 WHERE row_number = 5")
    survey.execute("UPDATE landing.batch_s SET survey_wave = NULL WHERE row_number = 4")
    res = gate_survey(survey, gate_home)
    assert set(res.failed_critical) == {
        "survey.coded_answers_in_code_lists",
        "survey.age_in_range",
        "survey.required_values_present",
    }
    note = observed(survey, "b-2026", "survey.coded_answers_in_code_lists")
    assert note.startswith("2 of ") and "sex=3" in note and "skill_level=高级工" in note
    assert "age=80" in observed(survey, "b-2026", "survey.age_in_range")


def test_an_empty_batch_is_refused(con, gate_home):
    con.execute("CREATE TABLE landing.batch_s AS SELECT * FROM raw.survey_responses LIMIT 0")
    res = gate_survey(con, gate_home)
    assert res.failed_critical == ["survey.batch_not_empty"]


# --- enterprise batches ---------------------------------------------------------------------------------------


def test_good_enterprise_batch_passes(enterprise, gate_home):
    res = gate_enterprise(enterprise, gate_home)
    assert (res.success, res.failed_critical, res.warnings) == (True, [], [])


def test_a_resubmission_is_not_a_duplicate_but_the_same_submission_time_is(enterprise, gate_home):
    enterprise.execute(
        "INSERT INTO landing.batch_e SELECT * REPLACE (submitted_at + INTERVAL 1 DAY AS submitted_at,"
        " 1000 + row_number AS row_number) FROM landing.batch_e WHERE row_number = 1"
    )
    assert gate_enterprise(enterprise, gate_home).success
    enterprise.execute(
        "INSERT INTO landing.batch_e SELECT * REPLACE (2000 + row_number AS row_number) "
        "FROM landing.batch_e WHERE row_number = 2"
    )
    res = gate_enterprise(enterprise, gate_home)
    assert res.failed_critical == ["enterprise.one_current_return_per_enterprise_period"]


def test_a_return_already_loaded_with_the_same_submission_time_is_a_duplicate(enterprise, gate_home):
    add_enterprise(enterprise, "raw.enterprise_returns", batch_id="e-2026-earlier", rows=1)
    res = gate_enterprise(enterprise, gate_home)
    assert res.failed_critical == ["enterprise.one_current_return_per_enterprise_period"]


def test_frontline_education_spend_above_the_whole_blocks_the_batch(enterprise, gate_home):
    enterprise.execute("UPDATE landing.batch_e SET edu_fund_frontline = 61 WHERE row_number = 3")
    res = gate_enterprise(enterprise, gate_home)
    assert res.failed_critical == ["enterprise.edu_fund_frontline_within_used"]
    assert "frontline_above_used_share=0.03333" in observed(
        enterprise, "e-2026", "enterprise.edu_fund_frontline_within_used"
    )


def test_a_jump_in_totals_is_a_warning(enterprise, gate_home):
    enterprise.execute(
        "UPDATE landing.batch_e SET employees_total = employees_total * 2, payroll_total = payroll_total * 10000"
    )  # 万元 read as 元
    res = gate_enterprise(enterprise, gate_home)
    assert res.success
    assert res.warnings == ["enterprise.employees_total_within_band", "enterprise.payroll_total_within_band"]
    assert "employees_ratio=2" in observed(enterprise, "e-2026", "enterprise.employees_total_within_band")


def test_totals_compare_current_returns_only(enterprise, gate_home):
    """Resubmissions replace, they do not add: doubling every return as a resubmission keeps the totals."""
    enterprise.execute(
        "INSERT INTO landing.batch_e SELECT * REPLACE (submitted_at + INTERVAL 1 DAY AS submitted_at,"
        " 1000 + row_number AS row_number) FROM landing.batch_e"
    )
    assert gate_enterprise(enterprise, gate_home).warnings == []


def test_a_period_in_parts_compares_the_enterprises_of_each_part(enterprise, gate_home):
    """Half the enterprises in this file: totals are compared over enterprises in both periods, so no false jump."""
    enterprise.execute("DELETE FROM landing.batch_e WHERE row_number % 2 = 0")
    res = gate_enterprise(enterprise, gate_home)
    assert res.success and res.warnings == []
    assert "employees_ratio=1" in observed(enterprise, "e-2026", "enterprise.employees_total_within_band")


def test_a_province_missing_against_the_previous_period_is_a_warning(enterprise, gate_home):
    enterprise.execute("UPDATE landing.batch_e SET region_code = '110105' WHERE region_code = '440100'")
    res = gate_enterprise(enterprise, gate_home)
    assert res.success and res.warnings == ["enterprise.previous_provinces_present"]
    assert "province 44: present=false" in observed(enterprise, "e-2026", "enterprise.previous_provinces_present")


def test_a_first_enterprise_period_warns_that_nothing_was_compared(con, gate_home):
    add_enterprise(con, "landing.batch_e")
    res = gate_enterprise(con, gate_home)
    assert res.success and res.warnings == ["enterprise.previous_period_available"]


# --- audit trail, transactions, personal data -----------------------------------------------------------------


def test_audit_rows_carry_no_personal_data(survey, gate_home):
    survey.execute("UPDATE landing.batch_s SET respondent_id = '2026-00001' WHERE row_number = 5")
    survey.execute("UPDATE landing.batch_s SET psu = 'S1-P0' WHERE stratum = 'S1'")
    survey.execute("UPDATE landing.batch_s SET monthly_wage = NULL WHERE row_number % 2 = 0")
    gate_survey(survey, gate_home)
    keys = {
        k
        for (k,) in survey.execute(
            "SELECT person_key FROM landing.batch_s UNION SELECT person_key FROM raw.survey_responses"
        ).fetchall()
    }
    notes = [v for (v,) in survey.execute("SELECT observed_value FROM audit.validation_results").fetchall()]
    assert len(notes) == len(load_suite("survey_batch").expectations) and all(notes)
    assert not [n for n in notes for k in keys if k in n]
    assert not [n for n in notes if "2026-00001" in n]  # not even the questionnaire number of the duplicate


def test_a_profile_selecting_personal_data_stops_the_gate(survey):
    leaky = SuiteSpec(
        name="survey_batch",
        description="",
        expectations=(),
        profiles={"leak": "select 'x' as label, person_key from {batch}"},
    )
    with pytest.raises(WfmError, match="personal columns"):
        run_profiles(survey, leaky, {"batch": "landing.batch_s"}, {})
    assert "person_key" in FORBIDDEN_COLUMNS and "contact_phone" in FORBIDDEN_COLUMNS


def test_profile_rows_come_in_label_order(survey):
    """The audit notes list profile rows in frame order; a query's row order is not stable across runs (the
    same batch once recorded 'stratum 44-C …; stratum 11-C …' and once the other way round)."""
    unordered = SuiteSpec(
        name="survey_batch",
        description="",
        expectations=(),
        profiles={"strata": "select * from (values ('stratum 44-C', 3), ('stratum 11-C', 3)) t(label, psu_count)"},
    )
    frame = run_profiles(survey, unordered, {}, {})["strata"]
    assert frame["label"].tolist() == ["stratum 11-C", "stratum 44-C"]


def test_the_gate_neither_commits_nor_closes_the_callers_transaction(survey, gate_home):
    survey.execute("BEGIN TRANSACTION")
    gate_survey(survey, gate_home)
    survey.execute("ROLLBACK")
    assert survey.execute("SELECT count(*) FROM audit.validation_results").fetchone()[0] == 0


def test_a_table_name_that_is_not_an_identifier_is_refused(survey, gate_home):
    with pytest.raises(WfmError, match="identifier"):
        validate_batch(
            survey,
            source="survey",
            table="landing.batch_s; drop table raw.survey_responses",
            batch_id="x",
            run_id="t",
            home=gate_home,
        )


def test_required_columns_profile_follows_the_contract(con):
    """The profile's list of required columns is the contract's, so a new required column is not missed."""
    con.execute("CREATE TABLE landing.batch_s AS SELECT * FROM raw.survey_responses LIMIT 0")
    frames = run_profiles(
        con,
        load_suite("survey_batch"),
        {"batch": "landing.batch_s", "raw": "raw.survey_responses"},
        {"batch_id": "x", **GateConfig().query_parameters()},
    )
    assert set(frames["required_columns"]["column_name"]) == {c.name for c in SURVEY if c.value_required}


# --- marts ------------------------------------------------------------------------------------------------------


@pytest.fixture
def marts(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.indicator_registry AS SELECT * FROM (VALUES
        ('TRN01', '%'), ('WAG02', '%'), ('TAL01', 'persons'), ('TAL04', 'pp'), ('WEL01', 'index')
      ) AS t(indicator_code, unit)""")
    con.execute("""CREATE TABLE marts.indicator_values AS SELECT * FROM (VALUES
        ('TRN01', '2026', 'industrial', 'W', 'national', 'CN', 45.5, 45.5, 100.0, 'A', 'F'),
        ('TRN01', '2026', 'industrial', 'W', 'province', '11', 100.0, 12.0, 12.0, 'U', 'F'),
        ('TRN01', '2026', 'industrial', 'W', 'province', '44', NULL, NULL, NULL, 'A', 'C'),
        ('WAG02', '2026', 'industrial', 'W', 'skill_level', 'L0', -12.5, NULL, NULL, 'A', 'F'),
        ('WAG02', '2026', 'industrial', 'W', 'skill_level', 'L7', 180.0, NULL, NULL, 'A', 'F'),
        ('TAL01', '2026', 'industrial', 'E', 'national', 'CN', 1850.0, 1850.0, NULL, 'A', 'F'),
        ('TAL04', '2026', 'industrial', 'E', 'national', 'CN', -3.5, NULL, NULL, 'A', 'F'),
        ('WEL01', '2026', 'industrial', 'W', 'national', 'CN', 72.0, NULL, NULL, 'P', 'F')
      ) AS t(indicator_code, period, scope, source, breakdown, member, value, numerator, denominator,
             obs_status, conf_status)""")
    return con


def gate_marts(con: duckdb.DuckDBPyConnection, home: Home) -> GateResult:
    return validate_marts(con, schema="marts", run_id="test", home=home, config=TEST_CONFIG, docs=False)


def test_good_marts_pass(marts, gate_home):
    res = gate_marts(marts, gate_home)
    assert (res.success, res.failed_critical, res.warnings) == (True, [], [])
    assert marts.execute("SELECT DISTINCT file_sha256, suite FROM audit.validation_results").fetchall() == [
        ("marts", "marts")
    ]


def test_a_percentage_above_100_blocks_publication(marts, gate_home):
    marts.execute("UPDATE marts.indicator_values SET value = 100.5 WHERE member = '11'")
    res = gate_marts(marts, gate_home)
    assert res.failed_critical == ["marts.percent_values_within_0_100"]
    assert "TRN01 max (%): value=100.5" in observed(marts, "marts", "marts.percent_values_within_0_100")


def test_a_negative_count_blocks_publication(marts, gate_home):
    marts.execute("UPDATE marts.indicator_values SET value = -1 WHERE indicator_code = 'TAL01'")
    assert gate_marts(marts, gate_home).failed_critical == ["marts.values_non_negative"]


def test_a_duplicate_cell_blocks_publication(marts, gate_home):
    marts.execute(
        "INSERT INTO marts.indicator_values SELECT * FROM marts.indicator_values WHERE member = 'CN' "
        "AND indicator_code = 'TRN01'"
    )
    assert gate_marts(marts, gate_home).failed_critical == ["marts.one_value_per_cell"]


def test_registry_gaps_in_both_directions_are_caught(marts, gate_home):
    marts.execute("DELETE FROM marts.indicator_registry WHERE indicator_code = 'TAL01'")
    marts.execute("INSERT INTO marts.indicator_registry VALUES ('HRS01', 'hours')")
    res = gate_marts(marts, gate_home)
    assert res.failed_critical == ["marts.values_reference_registered_indicators"]  # TAL01: values, no registry
    assert res.warnings == ["marts.registered_indicators_have_values"]  # HRS01: registered, no values
    assert "indicator TAL01: in_registry=false" in observed(
        marts, "marts", "marts.values_reference_registered_indicators"
    )


def test_a_suppressed_cell_that_shows_a_figure_blocks_publication(marts, gate_home):
    marts.execute("UPDATE marts.indicator_values SET numerator = 3 WHERE conf_status = 'C'")
    assert gate_marts(marts, gate_home).failed_critical == ["marts.suppressed_cells_have_no_value"]


def test_missing_marts_are_an_error_not_a_pass(con, gate_home):
    with pytest.raises(WfmError, match="profile query marts"):
        gate_marts(con, gate_home)


# --- the approach itself: suites, GX API, configuration ----------------------------------------------------------


def test_suite_files_load_into_gx_with_complete_meta():
    for name in SUITES:
        spec = load_suite(name)
        suite = spec.to_gx()
        assert isinstance(suite, gx.ExpectationSuite) and suite.name == name
        assert len(suite.expectations) == len(spec.expectations) > 5
        for expectation in suite.expectations:
            meta = expectation.meta
            assert {"name", "rule", "severity", "protects", "profile"} <= set(meta)
            assert meta["name"].startswith(name.split("_")[0] + ".")
            assert expectation.severity.value == meta["severity"]


def test_a_suite_file_breaking_the_conventions_is_refused(tmp_path):
    shutil.copytree(EXPECTATIONS_DIR, tmp_path / "expectations")
    path = tmp_path / "expectations" / "marts.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("severity: warning", "severity: minor", 1), encoding="utf-8"
    )
    with pytest.raises(WfmError, match="severity"):
        load_suite("marts", tmp_path / "expectations")
    (tmp_path / "expectations" / "profiles" / "survey_batch" / "orphan.sql").write_text("select 1 as label")
    with pytest.raises(WfmError, match="without expectations"):
        load_suite("survey_batch", tmp_path / "expectations")


def test_gx_api_still_validates_a_known_bad_frame(tmp_path, capfd):
    """Guards the approach against a GX upgrade: a fresh context goes through every GX call the gate makes
    (file context, progress-bar setting, pandas datasource, dataframe asset, whole-dataframe batch definition,
    suite, validation definition, checkpoint with UpdateDataDocsAction, expectation parameters, row conditions),
    the stacked frame's nulls are skipped by column expectations, and a bad frame fails exactly the expectation
    written for it, with no progress bars on stderr."""
    gx_dir = tmp_path / "gx"
    suite = load_suite("survey_batch")
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("CREATE TABLE landing.batch_s AS SELECT * FROM raw.survey_responses LIMIT 0")
    frames = run_profiles(
        con,
        suite,
        {"batch": "landing.batch_s", "raw": "raw.survey_responses"},
        {"batch_id": "x", **GateConfig().query_parameters()},
    )  # empty, with every column
    assert set(frames) == set(suite.profiles)
    frames["strata"] = pd.DataFrame(
        {
            "label": ["wave 2026 stratum A", "wave 2026 stratum B"],
            "survey_wave": ["2026", "2026"],
            "stratum": ["A", "B"],
            "psu_count": [3, 1],
            "present": [True, True],
            "in_design": [True, True],
            "wave_complete": [True, True],
        }
    )
    frames["waves"] = pd.DataFrame(
        {
            "label": ["wave 2026"],
            "survey_wave": ["2026"],
            "min_weight": [1.5],
            "weight_ratio": [1.01],
            "unchecked": [None],
        }
    )
    capfd.readouterr()
    gx_session = session(gx_dir)
    result = gx_session.validate(suite, stack(frames), GateConfig().expectation_parameters(), "api-guard", keep=5)
    failed = sorted(r.expectation_config.meta["name"] for r in result.results if not r.success)
    assert failed == ["survey.min_two_psus_per_stratum"]
    assert not [r for r in result.results if r.exception_info.get("raised_exception")]
    err = capfd.readouterr().err
    assert "Calculating Metrics" not in err and "it/s" not in err
    assert gx_session.context.variables.progress_bars["globally"] is False
    assert gx_session.docs_index.is_file() and gx_session.docs_index.is_relative_to(gx_dir)


def test_gx_store_keeps_a_bounded_history(gate_home, con):
    add_survey(con, "landing.batch_s")
    for _ in range(3):
        gate_survey(con, gate_home, config(docs_history=2))
    store = session(gate_home.gx).context.validation_results_store
    kept = [k for k in store.list_keys() if k.expectation_suite_identifier.name == "survey_batch"]
    assert len(kept) == 2


def test_data_docs_render_only_the_pages_they_lack(tmp_path, con):
    """A rebuild renders the stored results that have no page (a night that ended before rendering leaves
    some), leaves the pages already there untouched, and drops those of results the bounded history removed."""
    home = Home.resolve(tmp_path / "home")
    add_survey(con, "landing.batch_s")
    site = gate_survey(con, home, config(docs_history=2), docs=True).docs_index.parent

    def pages() -> list[Path]:
        return sorted(p.relative_to(site) for p in (site / "validations").rglob("*.html"))

    (first,) = pages()
    rendered = (site / first).stat().st_mtime_ns
    validate_batch(con, "survey", "landing.batch_s", "b-2026", "test", home, config(docs_history=2), docs=False)
    assert pages() == [first]
    build_docs(home)
    assert len(pages()) == 2 and (site / first).stat().st_mtime_ns == rendered
    gate_survey(con, home, config(docs_history=2), docs=True)  # keeps two results: the first one's page goes
    assert len(pages()) == 2 and first not in pages()
    assert "validations/survey_batch" in (site / "index.html").read_text(encoding="utf-8")


def test_suite_pages_render_once_per_process_until_the_suite_is_registered_again(tmp_path, con):
    """A process renders a suite's page once (the code that defines it cannot change under it), again after it
    registers the suite anew; `prepare_marts` registers the marts' checkpoint and renders what is pending."""
    home = Home.resolve(tmp_path / "home")
    add_survey(con, "landing.batch_s")
    site = gate_survey(con, home, config(), docs=True).docs_index.parent
    suite_page = site / "expectations" / "survey_batch.html"
    rendered = suite_page.stat().st_mtime_ns
    validate_batch(con, "survey", "landing.batch_s", "b-2026", "test", home, config(), docs=False)
    build_docs(home)  # renders the new result's page, not the suite's again
    assert suite_page.stat().st_mtime_ns == rendered
    assert len(list((site / "validations").rglob("*.html"))) == 2
    context._SESSIONS.by_dir.clear()  # as the next process, which registers the suite from its own code
    gate_survey(con, home, config(), docs=True)
    assert suite_page.stat().st_mtime_ns > rendered
    build_docs(home)  # nothing pending: the suites are rendered again rather than the whole site
    prepare_marts(home)
    gx_session = session(home.gx)
    assert "marts" in gx_session.checkpoints and (site / "expectations" / "marts.html").is_file()


def test_gate_config_file_overrides_defaults_and_refuses_unknown_keys(tmp_path):
    path = tmp_path / "gate_config.json"
    path.write_text(json.dumps({"weight_band": 0.1, "population_totals": {"2026": 5e7}, "_note": "why"}))
    loaded = GateConfig.load(path)
    assert loaded.weight_band == 0.1 and loaded.population_totals == {"2026": 5e7}
    assert loaded.item_nonresponse_max == GateConfig().item_nonresponse_max
    assert loaded.expectation_parameters()["weight_ratio_min"] == pytest.approx(0.9)
    path.write_text(json.dumps({"weight_bnd": 0.1}))
    with pytest.raises(WfmError, match="unknown gate settings"):
        GateConfig.load(path)
    assert GateConfig.load(tmp_path / "absent.json") == GateConfig()
    assert GateConfig.load() == GateConfig.load(Path(EXPECTATIONS_DIR) / "gate_config.json")
