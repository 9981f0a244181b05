"""What the gate costs: a synthetic survey and enterprise batch, gated, against one plain SQL query doing the same
checks. Run by hand or from `make bench` (`python -m wfm_tools.gate_bench`); never part of the tests' pass/fail.

The batches are built inside DuckDB (no generator, no files) in a temporary warehouse with the production
settings (`wfm.warehouse.connect`), each with a previous wave / period already in raw so every comparison runs.
The plain query is the floor: the same aggregates in one statement, no GX, no audit rows, no Data Docs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import duckdb

from wfm.config import Home
from wfm.contract import RAW_TABLE
from wfm.gate import GateConfig, validate_batch
from wfm.gate.profiles import run_profiles
from wfm.gate.suites import load_suite
from wfm.gate.validate import SUITE_OF_SOURCE
from wfm.warehouse import connect, ensure_schema

SURVEY_ROWS = """
    select
      $batch_id as batch_id, i + 1 as row_number, $wave as survey_wave, 'Q' || i as respondent_id,
      sha256('p' || i) as person_key, 'S' || (i % 400) as stratum, 'P' || (i % 400) || '-' || (i % 7) as psu,
      ($weight_total / $rows) * (0.5 + random()) as design_weight, '110101' as region_code,
      case when i % 4 < 2 then '91' || lpad((i % 5000)::varchar, 16, '0') end as employer_uscc,
      'C' || (1000 + i % 40) as industry_code, '6-01' as occupation_code, 1 + i % 2 as sex, 16 + i % 60 as age,
      1 + i % 3 as hukou_type, 1 + i % 5 as education, 'L' || (i % 8) as skill_level,
      case when i % 97 = 0 then '市级' end as craftsman_title, 1 + i % 4 as employment_form,
      [1, 2, 3, 9][1 + i % 4] as contract_type,
      case when random() < 0.03 then null else 3000 + random() * 9000 end as monthly_wage,
      40 + i % 20 as weekly_hours, i % 50 as overtime_hours_month, i % 2 = 0 as trained_12m,
      (i % 2 = 0)::int * 24 as training_hours_12m, i % 5 = 0 as continuing_education, i % 3 = 0 as certificate,
      i % 2 = 1 as union_member, i % 9 = 0 as party_member, i % 4 > 0 as social_insurance_injury,
      case when i % 4 = 2 then i % 8 = 2 end as occupational_injury_protection, i % 6 = 0 as competition_12m,
      i % 7 = 0 as innovation_12m, i % 50 = 0 as wage_arrears_12m, 1 + i % 5 as sense_achievement,
      1 + (i + 1) % 5 as sense_gain, 1 + (i + 2) % 5 as sense_happiness, now()::timestamp as loaded_at
    from range($rows) as t(i)
"""

ENTERPRISE_ROWS = """
    select
      $batch_id as batch_id, i + 1 as row_number, $period as report_period,
      '91' || lpad((i % $enterprises)::varchar, 16, '0') as uscc, 'enterprise ' || i as enterprise_name,
      ['11', '31', '44', '51', '65'][1 + i % 5] || '0101' as region_code, 'C' || (13 + i % 30) as industry_code,
      [110, 159, 173, 310][1 + i % 4] as registration_type, i % 4 = 0 as state_controlled,
      1000 + i % 5000 as revenue, 50 + i % 900 as employees_total, 50 + i % 900 as employees_avg,
      30 + i % 500 as frontline_workers, i % 20 as dispatched_workers, 20 + i % 400 as contract_signed,
      1 as skill_l0, 2 as skill_l1, 3 as skill_l2, 1 as skill_l3, 0 as skill_l4, 0 as skill_l5, 0 as skill_l6,
      0 as skill_l7, 0 as craftsmen_national, i % 2 as craftsmen_provincial, i % 3 as craftsmen_municipal,
      (50 + i % 900) * 8.5 as payroll_total, 10.0 as edu_fund_extracted, 8.0 as edu_fund_used,
      5.0 as edu_fund_frontline, 100 as training_person_times, true as has_union, 40 as union_members,
      true as workers_congress_held, true as collective_contract, 40 as collective_contract_covered,
      false as employee_director, 10 as teams_total, 1 as teams_without_party_member, 1 as innovation_studios,
      5 as adopted_suggestions, 10 as competition_participants, 0 as work_injuries,
      0 as occupational_disease_cases, 0 as labor_disputes, 10 as hires, 6 as hires_under35, 8 as separations,
      20 as migrant_workers,
      timestamp '2027-01-15 08:00:00' + to_seconds(i // $enterprises) + to_seconds((i % 1000)::bigint)
        as submitted_at,
      now()::timestamp as loaded_at
    from range($rows) as t(i)
"""

# The gate's checks as one statement: what a hand-written SQL gate without GX would run.
PLAIN_SURVEY = """
with wave_rows as (
  select * from {batch}
  union all
  select * from raw.survey_responses where survey_wave in (select survey_wave from {batch}) and batch_id <> $batch_id
),
prev as (select max(survey_wave) as wave from raw.survey_responses
         where survey_wave < (select min(survey_wave) from {batch}) and length(survey_wave) = 4),
strata as (select stratum, count(distinct psu) as psus, sum(design_weight) as w from wave_rows group by stratum),
prev_strata as (select stratum, sum(design_weight) as w from raw.survey_responses
                where survey_wave = (select wave from prev) group by stratum),
dups as (select respondent_id from wave_rows group by respondent_id having count(*) > 1),
item as (
  select greatest(avg((columns(* exclude (batch_id, row_number, loaded_at, extra_columns, survey_wave,
                                          respondent_id, person_key, stratum, psu, design_weight, skill_level,
                                          craftsman_title, employer_uscc, occupational_injury_protection))
                       is null)::int)) as worst
  from {batch}
)
select
  (select count(*) from {batch}) > 0 as not_empty,
  (select min(psus) from strata) >= 2 as two_psus,
  (select min(design_weight) from {batch}) > 0 as weights_positive,
  (select sum(s.w) / sum(p.w) from strata as s join prev_strata as p using (stratum)) between 0.75 and 1.25
    as weight_band,
  (select count(*) from dups) = 0 as unique_ids,
  (select count(*) from prev_strata where stratum not in (select stratum from strata)) = 0 as strata,
  (select worst from item) <= 0.2 as nonresponse,
  (select count(*) filter (where sex not in (1, 2) or education not between 1 and 5 or age not between 16 and 75
                           or skill_level not in ('L0','L1','L2','L3','L4','L5','L6','L7'))
   from {batch}) = 0 as codes
"""

PLAIN_ENTERPRISE = """
with period_rows as (
  select * from {batch}
  union all
  select * from raw.enterprise_returns
  where report_period in (select report_period from {batch}) and batch_id <> $batch_id
),
dups as (select 1 from period_rows group by uscc, report_period, submitted_at having count(*) > 1),
cur as (select * from period_rows
        qualify row_number() over (partition by uscc, report_period order by submitted_at desc) = 1),
prev as (select max(report_period) as period from raw.enterprise_returns
         where report_period < (select min(report_period) from {batch}) and length(report_period) = 4),
prev_cur as (select * from raw.enterprise_returns where report_period = (select period from prev)
             qualify row_number() over (partition by uscc order by submitted_at desc) = 1),
matched as (select sum(c.employees_total) / sum(p.employees_total) as employees,
                   sum(c.payroll_total) / sum(p.payroll_total) as payroll
            from cur as c join prev_cur as p using (uscc))
select
  (select count(*) from dups) = 0 as one_current_return,
  (select count(*) filter (where edu_fund_frontline > edu_fund_used) from {batch}) = 0 as edu_fund,
  (select employees from matched) between 0.7 and 1.3 as employees_band,
  (select payroll from matched) between 0.7 and 1.3 as payroll_band,
  (select count(*) from (select distinct left(region_code, 2) as p from prev_cur)
   where p not in (select left(region_code, 2) from cur)) = 0 as provinces,
  (select count(*) filter (where registration_type not between 110 and 390 or length(uscc) <> 18)
   from {batch}) = 0 as codes
"""


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> list:
    return con.execute(sql, params).fetchall()


def _load(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, object]) -> None:
    con.execute(f"INSERT INTO {table} BY NAME {sql}", params)


def run(survey_rows: int, enterprise_rows: int, repeat: int, workdir: Path) -> None:
    home = Home(workdir)
    con = connect(home.warehouse)
    con.execute("SET enable_progress_bar = false")  # the loads below take seconds; keep the report readable
    ensure_schema(con)
    weight_total = 2.0e8
    _load(
        con,
        "raw.survey_responses",
        SURVEY_ROWS,
        {"batch_id": "prev", "wave": "2025", "rows": survey_rows, "weight_total": weight_total},
    )
    con.execute("CREATE TABLE landing.batch_survey AS SELECT * FROM raw.survey_responses LIMIT 0")
    _load(
        con,
        "landing.batch_survey",
        SURVEY_ROWS,
        {"batch_id": "bench-survey", "wave": "2026", "rows": survey_rows, "weight_total": weight_total},
    )
    enterprises = enterprise_rows * 9 // 10  # one return in ten is a resubmission
    _load(
        con,
        "raw.enterprise_returns",
        ENTERPRISE_ROWS,
        {"batch_id": "prev", "period": "2025", "rows": enterprise_rows, "enterprises": enterprises},
    )
    con.execute("CREATE TABLE landing.batch_enterprise AS SELECT * FROM raw.enterprise_returns LIMIT 0")
    _load(
        con,
        "landing.batch_enterprise",
        ENTERPRISE_ROWS,
        {"batch_id": "bench-enterprise", "period": "2026", "rows": enterprise_rows, "enterprises": enterprises},
    )
    con.execute("CHECKPOINT")

    cold = _seconds(partial(validate_batch, con, "survey", "landing.batch_survey", "bench-survey", "cold", home))
    print(f"first gate call in the process (GX context, suites, checkpoints created): {cold:.2f} s")

    config = GateConfig()
    for source, table, plain, rows in (
        ("survey", "landing.batch_survey", PLAIN_SURVEY, survey_rows),
        ("enterprise", "landing.batch_enterprise", PLAIN_ENTERPRISE, enterprise_rows),
    ):
        batch_id = f"bench-{source}"
        plain_sql = plain.format(batch=table)
        suite = load_suite(SUITE_OF_SOURCE[source])
        placeholders = {"batch": table, "raw": RAW_TABLE[source]}
        parameters = {"batch_id": batch_id, **config.query_parameters()}
        # interleaved, so that a busy machine slows the plain query and the gate alike
        plain_times, profile_times, gate_times = [], [], []
        for _ in range(repeat):
            plain_times.append(_seconds(partial(_fetch, con, plain_sql, {"batch_id": batch_id})))
            profile_times.append(_seconds(partial(run_profiles, con, suite, placeholders, parameters)))
            gate = partial(validate_batch, con, source, table, batch_id, "bench", home, config)
            gate_times.append(_seconds(gate))
        result = gate()
        plain_s, gate_s = statistics.median(plain_times), statistics.median(gate_times)
        profiles_s = statistics.median(profile_times)
        print(
            f"{source:10} {rows:>9,} rows: plain SQL {plain_s:.3f} s, gate {gate_s:.3f} s ({gate_s / plain_s:.1f}x; "
            f"profile queries {profiles_s:.3f} s, GX and audit {gate_s - profiles_s:.3f} s); "
            f"success={result.success} warnings={result.warnings}"
        )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survey-rows", type=int, default=1_000_000)
    parser.add_argument("--enterprise-rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wfm-gate-bench-") as workdir:
        run(args.survey_rows, args.enterprise_rows, args.repeat, Path(workdir))


if __name__ == "__main__":
    main()
