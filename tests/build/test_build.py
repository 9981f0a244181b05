"""`wfm.build.build()` as the pipeline calls it: the contract tables, every catalog indicator, vintages, failures.

A small warehouse with both sources is built twice (the second time after a resubmitted return and a
changed survey answer) to check that the earlier vintage of each changed value is kept in
`indicator_revisions`; a warehouse without raw tables must fail with one clear line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import CATALOG

from wfm.build import BuildResult, DbtWorker, build, dbt_paths, plan
from wfm.build.dbt import common_args
from wfm.build.planning import missing_relations, provisional_window_crossed
from wfm.build.project import DBT_DIR
from wfm.errors import WfmError
from wfm.warehouse import ensure_schema

CONTRACT_COLUMNS = [
    "indicator_code", "period", "scope", "source", "breakdown", "member", "value", "numerator", "denominator",
    "n_unweighted", "se", "ci_lower", "ci_upper", "cv", "obs_status", "conf_status", "vintage",
]  # fmt: skip
REGISTRY_COLUMNS = [
    "indicator_code", "name_zh", "name_en", "clause", "source", "formula", "unit", "target_value", "threshold",
]  # fmt: skip

#: every test here runs dbt: a build, a parse, or a copy of the module's two builds
pytestmark = pytest.mark.slow

YESNO = ["trained_12m", "continuing_education", "certificate", "union_member", "party_member",
         "social_insurance_injury", "competition_12m", "innovation_12m", "wage_arrears_12m"]  # fmt: skip


def survey_rows(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for h in range(6):
        for i in range(3):
            for k in range(14):
                form = int(rng.choice([1, 2, 3, 4], p=[0.6, 0.1, 0.2, 0.1]))
                row = {
                    "survey_wave": "2025",
                    "respondent_id": f"{h}-{i}-{k}",
                    "stratum": f"S{h}",
                    "psu": f"P{i}",
                    "design_weight": float(rng.uniform(50, 300)),
                    "region_code": ["11", "44"][h % 2] + "0101",
                    "industry_code": str(rng.choice(["C3411", "06", "D44", "E48"])),
                    "sex": int(rng.integers(1, 3)),
                    "age": int(rng.integers(18, 62)),
                    "hukou_type": int(rng.integers(1, 4)),
                    "skill_level": str(rng.choice(["L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"])),
                    "employment_form": form,
                    "contract_type": int(rng.choice([1, 2, 9])),
                    "monthly_wage": float(rng.uniform(3000, 15000)),
                    "weekly_hours": float(rng.uniform(35, 60)),
                    "overtime_hours_month": float(rng.uniform(0, 60)),
                    "training_hours_12m": float(rng.uniform(0, 40)),
                    "occupational_injury_protection": bool(rng.random() < 0.5) if form == 3 else None,
                    "sense_achievement": int(rng.integers(1, 6)),
                    "sense_gain": int(rng.integers(1, 6)),
                    "sense_happiness": int(rng.integers(1, 6)),
                }
                row.update({item: bool(rng.random() < 0.5) for item in YESNO})
                rows.append(row)
    return pd.DataFrame(rows)


def enterprise_rows(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for number in range(60):
        employees = int(rng.integers(50, 2000))
        skills = {f"skill_l{level}": employees // 10 for level in range(8)}
        rows.append({
            "report_period": "2025",
            "uscc": f"9144{number:014d}",
            "enterprise_name": f"企业{number}",
            "region_code": ["11", "44", "51"][number % 3] + "0101",
            "industry_code": ["C3411", "06", "D44", "E48"][number % 4],
            "registration_type": 110,
            "state_controlled": number % 2 == 0,
            "revenue": float(rng.uniform(500, 60000)),
            "employees_total": employees,
            "employees_avg": employees,
            "frontline_workers": employees // 2,
            "dispatched_workers": int(employees * rng.uniform(0, 0.2)),
            "contract_signed": int(employees * 0.75),
            **skills,
            "craftsmen_national": int(rng.integers(0, 3)),
            "craftsmen_provincial": int(rng.integers(0, 5)),
            "craftsmen_municipal": int(rng.integers(0, 9)),
            "payroll_total": employees * 9.0,
            "edu_fund_extracted": employees * 9.0 * rng.uniform(0.005, 0.03),
            "edu_fund_used": employees * 9.0 * rng.uniform(0.005, 0.1),
            "edu_fund_frontline": employees * 9.0 * 0.004,
            "training_person_times": employees,
            "has_union": True,
            "union_members": employees // 3,
            "workers_congress_held": bool(rng.random() < 0.5),
            "collective_contract": True,
            "collective_contract_covered": employees // 2,
            "employee_director": bool(rng.random() < 0.5),
            "teams_total": employees // 20 + 1,
            "teams_without_party_member": employees // 100,
            "innovation_studios": int(rng.integers(0, 3)),
            "adopted_suggestions": int(rng.integers(0, 40)),
            "competition_participants": 10,
            "work_injuries": int(rng.integers(0, 3)),
            "occupational_disease_cases": int(rng.integers(0, 2)),
            "labor_disputes": int(rng.integers(0, 2)),
            "hires": employees // 10 + 1,
            "hires_under35": employees // 20,
            "separations": employees // 12,
            "migrant_workers": employees // 4,
            "submitted_at": dt.datetime(2026, 2, 1),
        })  # fmt: skip
    return pd.DataFrame(rows)


def load(warehouse: Path, table: str, frame: pd.DataFrame, batch: str) -> None:
    frame = frame.assign(batch_id=batch, row_number=range(1, len(frame) + 1), loaded_at=dt.datetime(2026, 3, 1))
    con = duckdb.connect(str(warehouse))
    try:
        ensure_schema(con)
        con.register("frame", frame)
        con.execute(f"insert into {table} by name select * from frame")
    finally:
        con.close()


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    rng = np.random.default_rng(11)
    warehouse = tmp_path_factory.mktemp("build") / "warehouse.duckdb"
    load(warehouse, "raw.survey_responses", survey_rows(rng), "survey-1")
    load(warehouse, "raw.enterprise_returns", enterprise_rows(rng), "enterprise-1")
    lines: list[str] = []
    first = build(warehouse, run_id="first", progress=lines.append)
    values_first = query(warehouse, "select * from marts.indicator_values")

    # a resubmission (more dispatched workers) and a late survey batch change the second build's values
    resubmitted = enterprise_rows(np.random.default_rng(11)).head(1)
    resubmitted = resubmitted.assign(
        dispatched_workers=resubmitted.employees_total, submitted_at=dt.datetime(2026, 4, 1)
    )
    load(warehouse, "raw.enterprise_returns", resubmitted, "enterprise-2")
    late = survey_rows(np.random.default_rng(99)).head(30).assign(respondent_id=lambda f: "late-" + f.respondent_id)
    load(warehouse, "raw.survey_responses", late, "survey-2")
    (dbt_paths(warehouse)[0] / "catalog.json").unlink(missing_ok=True)  # the docs test reads this build's catalog
    second = build(warehouse, run_id="second", docs=True)
    return {
        "warehouse": warehouse,
        "first": first,
        "second": second,
        "lines": lines,
        "values_first": values_first,
        "values": query(warehouse, "select * from marts.indicator_values"),
        "revisions": query(warehouse, "select * from marts.indicator_revisions"),
        "registry": query(warehouse, "select * from marts.indicator_registry"),
    }


def test_build_reports_what_it_did(two_builds):
    first: BuildResult = two_builds["first"]
    assert first.success and not first.failures
    assert first.models >= 20 and first.tests >= 30 and first.seeds >= 5
    assert first.run_id == "first" and first.elapsed > 0
    assert two_builds["second"].vintage > first.vintage
    assert any("indicator_values" in line for line in two_builds["lines"])


def test_every_catalog_indicator_is_published_from_each_of_its_sources(two_builds):
    values = two_builds["values"]
    published = {(row.indicator_code, row.source) for row in values[["indicator_code", "source"]].itertuples()}
    expected = {(code, source) for code, sources in CATALOG.items() for source in sources.split(",")}
    assert expected <= published
    assert set(values.indicator_code) == set(CATALOG)
    assert set(values.scope) == {"industrial"}


def test_registry_is_complete(two_builds):
    registry = two_builds["registry"]
    assert list(registry.columns[: len(REGISTRY_COLUMNS)]) == REGISTRY_COLUMNS
    assert dict(zip(registry.indicator_code, registry.source, strict=True)) == CATALOG
    assert registry[["name_zh", "name_en", "clause", "formula", "unit"]].notna().all().all()
    targets = dict(zip(registry.indicator_code, registry.target_value, strict=True))
    assert targets["TAL01"] == 2000 and targets["TAL02"] == 10000 and targets["TAL03"] == 50000
    thresholds = dict(zip(registry.indicator_code, registry.threshold, strict=True))
    assert "1.5" in thresholds["EDU01"] and "10" in thresholds["LAB02"]


def test_contract_columns_and_keys(two_builds):
    values = two_builds["values"]
    assert list(values.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert not values.duplicated(["indicator_code", "period", "scope", "source", "breakdown", "member"]).any()
    assert set(values.obs_status) <= {"A", "U", "P"} and set(values.conf_status) <= {"F", "C", "D"}
    wage = values[(values.indicator_code == "WAG01") & (values.breakdown == "national")]
    assert set(wage.member) == {"CN|P10", "CN|P25", "CN|P50", "CN|P75", "CN|P90"}
    members = set(values[values.indicator_code == "EDU01"].member)
    assert {"CN", "CN|compliance", "CN|compliance_emp"} <= members
    assert {"CN|national", "CN|provincial", "CN|municipal"} == set(values[values.indicator_code == "TAL04"].member)
    assert re.fullmatch(r"\d{2}", values[values.breakdown == "province"].member.str.split("|").str[0].iloc[0])


def test_not_null_is_enforced_by_the_marts_tables_not_by_data_tests(two_builds):
    """The marts' enforced contracts make their key columns NOT NULL in the warehouse, so DuckDB refuses a null
    when the model is built; a not_null data test beside such a constraint could never fail, and none is kept."""
    con = duckdb.connect(str(two_builds["warehouse"]), read_only=True)
    try:
        not_null = set(
            con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND NOT is_nullable"
            ).fetchall()
        )
    finally:
        con.close()
    keys = ["indicator_code", "period", "scope", "source", "breakdown", "member", "obs_status", "conf_status"]
    assert {("indicator_values", c) for c in [*keys, "vintage"]} | {
        ("indicator_registry", "indicator_code")
    } <= not_null
    import yaml

    for path in (DBT_DIR / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            for column in model.get("columns", []):
                constrained = {"type": "not_null"} in column.get("constraints", [])
                tests = [t if isinstance(t, str) else next(iter(t)) for t in column.get("data_tests", [])]
                assert not (constrained and "not_null" in tests), (path.name, column["name"])


def test_docs_are_generated_when_asked(two_builds):
    catalog = (dbt_paths(two_builds["warehouse"])[0] / "catalog.json").read_text(encoding="utf-8")
    assert "indicator_values" in catalog and "stg_survey__responses" in catalog


def test_every_row_carries_the_build_vintage(two_builds):
    assert set(two_builds["values_first"].vintage) == {pd.Timestamp(two_builds["first"].vintage)}
    assert set(two_builds["values"].vintage) == {pd.Timestamp(two_builds["second"].vintage)}


def test_changed_values_keep_their_earlier_vintage(two_builds):
    revisions, first, values = two_builds["revisions"], two_builds["values_first"], two_builds["values"]
    key = ["indicator_code", "period", "scope", "source", "breakdown", "member"]
    assert len(revisions) > 0
    assert set(revisions.vintage) == {pd.Timestamp(two_builds["first"].vintage)}
    # the resubmitted return changed the national dispatched-worker share: its first value is kept
    national = revisions[(revisions.indicator_code == "LAB02") & (revisions.member == "CN")]
    assert len(national) == 1
    before = first.set_index(key).loc[("LAB02", "2025", "industrial", "E", "national", "CN")]
    now = values.set_index(key).loc[("LAB02", "2025", "industrial", "E", "national", "CN")]
    assert national.value.iloc[0] == pytest.approx(before.value) and now.value > before.value
    # unchanged cells are not revisions: every revision differs from the current value or status
    merged = revisions.merge(values, on=key, how="left", suffixes=("_old", "_new"))
    differs = (
        ~np.isclose(merged.value_old, merged.value_new, rtol=1e-9, equal_nan=True)
        | (merged.obs_status_old != merged.obs_status_new)
        | (merged.conf_status_old != merged.conf_status_new)
    )
    assert differs.all()


VALUE_COLUMNS = [
    "indicator_code",
    "period",
    "scope",
    "source",
    "breakdown",
    "member",
    "value",
    "se",
    "ci_lower",
    "ci_upper",
    "cv",
    "n_unweighted",
    "obs_status",
    "conf_status",
]


def published(warehouse: Path) -> pd.DataFrame:
    values = query(warehouse, "select * from marts.indicator_values")[VALUE_COLUMNS]
    return values.sort_values(VALUE_COLUMNS[:6]).reset_index(drop=True)


def test_second_build_recomputes_only_the_new_batches_periods(two_builds):
    builds = query(two_builds["warehouse"], "select mode, periods, success from audit.builds order by finished_at")
    assert builds["mode"].tolist() == ["full", "incremental"] and builds["success"].all()
    assert json.loads(builds["periods"].iloc[1]) == {"survey": ["2025"], "enterprise": ["2025"]}
    assert (two_builds["first"].mode, two_builds["second"].mode) == ("full", "incremental")
    built = query(two_builds["warehouse"], "select file_sha256 from audit.built_batches order by 1")
    assert built["file_sha256"].tolist() == ["enterprise-1", "enterprise-2", "survey-1", "survey-2"]


def test_an_incremental_build_equals_a_full_one(two_builds, tmp_path):
    """A new period arrives: the incremental build recomputes it alone, and every published value equals
    what a full rebuild of the same rows gives (to the last bits parallel sums may differ in)."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    rng = np.random.default_rng(12)
    load(warehouse, "raw.enterprise_returns", enterprise_rows(rng).assign(report_period="2026Q1"), "enterprise-3")
    result = build(warehouse, run_id="third")
    assert (result.mode, result.periods) == ("incremental", {"survey": [], "enterprise": ["2026Q1"]})
    assert result.skipped == ["survey"]  # nothing new, and no survey period left its provisional window
    run_results = dbt_paths(warehouse)[0] / "run_results.json"
    ran = {r["unique_id"].split(".")[2] for r in json.loads(run_results.read_text())["results"]}
    # the tests of seeds alone passed with the same files in the full build; a test of a mart against a seed runs
    assert "unique_provinces_code" not in ran and "assert_proportions_in_range" in ran
    load(warehouse, "raw.survey_responses", survey_rows(rng).assign(survey_wave="2026Q1"), "survey-3")
    result = build(warehouse, run_id="fourth")
    assert (result.periods, result.skipped) == ({"survey": ["2026Q1"], "enterprise": []}, ["enterprise"])
    incremental = published(warehouse)
    assert set(incremental["period"]) == {"2025", "2026Q1"}
    # secondary suppression, incremental by period too: each period's cells once, the pattern a full build gives
    suppression = "select * from intermediate.int_enterprise__suppression order by all"
    suppressed = query(warehouse, suppression)
    assert set(suppressed["period"]) == {"2025", "2026Q1"}
    assert build(warehouse, run_id="fifth", full_refresh=True, unit_tests=False).mode == "full"
    pd.testing.assert_frame_equal(suppressed, query(warehouse, suppression))
    kinds = {r["unique_id"].split(".")[0] for r in json.loads(run_results.read_text())["results"]}
    assert "unit_test" not in kinds and {"seed", "model", "test"} <= kinds  # as the nightly job builds
    full = published(warehouse)
    pd.testing.assert_frame_equal(incremental, full, rtol=1e-9, atol=1e-12)


def test_an_incremental_build_tests_the_periods_it_recomputed(two_builds, tmp_path):
    """The data tests of a table incremental by period (`__built_periods__` in their config) check the periods
    an incremental build recomputed, and every period in a full build: the uniqueness test of the current
    returns, as each build compiled it, run against a duplicate planted in an old period and one in the new
    period, finds the new one after the incremental build and both after the full one."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    load(
        warehouse,
        "raw.enterprise_returns",
        enterprise_rows(np.random.default_rng(13)).assign(report_period="2026Q1"),
        "enterprise-3",
    )
    compiled = dbt_paths(warehouse)[0] / "compiled" / "wfm" / "models" / "intermediate" / "enterprise"
    test_sql = (
        compiled / "_enterprise__models.yml" / "unique_combination_int_enterprise__current_returns_uscc__period.sql"
    )
    assert build(warehouse, run_id="third").mode == "incremental"
    incremental = test_sql.read_text(encoding="utf-8")
    assert build(warehouse, run_id="fourth", full_refresh=True, unit_tests=False).mode == "full"
    full = test_sql.read_text(encoding="utf-8")
    con = duckdb.connect(str(warehouse))
    try:
        table = "intermediate.int_enterprise__current_returns"
        for period in ("2025", "2026Q1"):
            con.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE period = '{period}' LIMIT 1")
        found = [{r[1] for r in con.execute(sql).fetchall()} for sql in (incremental, full)]
    finally:
        con.close()
    assert found == [{"2026Q1"}, {"2025", "2026Q1"}]


def test_no_view_holds_the_vintage(two_builds):
    """Incremental builds leave the views as the last full build created them, and dbt writes the vintage into
    a model's SQL as a literal: a view holding it would go on computing statuses as of that build."""
    stamp = two_builds["first"].vintage.isoformat(sep=" ")
    views = query(
        two_builds["warehouse"],
        "select schema_name, view_name, sql from duckdb_views() where not internal and not temporary",
    )
    assert {"int_enterprise__disclosure", "int_survey__observations"} <= set(views.view_name)
    assert not [name for name, sql in zip(views.view_name, views.sql, strict=True) if stamp in sql]


def test_the_tests_the_project_alone_decides_run_in_full_builds_only(two_builds, tmp_path):
    """A data test tagged project_only checks what the SQL decides itself (accepted_values of a CASE of
    literals or of a seed's column, not_null of a coalesce, the keys of a table built from seeds alone such as
    code_labels), so its outcome cannot change without the project,
    and a changed project makes the build full: incremental builds leave these tests out, full builds run
    every one of them. A model so tagged (code_labels) is computed from seeds alone, and is left out with its
    tests the same way."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    new_quarter = enterprise_rows(np.random.default_rng(17)).assign(report_period="2026Q1")
    load(warehouse, "raw.enterprise_returns", new_quarter, "enterprise-3")
    target = dbt_paths(warehouse)[0]
    ran, ran_nodes = {}, {}
    for mode, options in (("incremental", {}), ("full", {"full_refresh": True, "unit_tests": False})):
        assert build(warehouse, **options).mode == mode
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
        ran_nodes[mode] = {result["unique_id"] for result in results}
        ran[mode] = {uid for uid in ran_nodes[mode] if uid.startswith("test.")}
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    tagged = {uid: node for uid, node in manifest["nodes"].items() if "project_only" in node["tags"]}
    tests = {uid: node for uid, node in tagged.items() if node["resource_type"] == "test"}
    kinds = {node["test_metadata"]["name"] for node in tests.values()}
    assert tests and kinds <= {"accepted_values", "not_null", "unique_combination"}
    assert ran["incremental"] and not set(tests) & ran["incremental"]
    assert set(tests) <= ran["full"]
    # a model tagged so is computed from seeds alone, and neither it nor its tests run in incremental builds
    models = {uid: node for uid, node in tagged.items() if node["resource_type"] == "model"}
    assert models
    for uid, node in models.items():
        assert all(parent.startswith("seed.") for parent in node["depends_on"]["nodes"]), uid
        assert uid not in ran_nodes["incremental"] and uid in ran_nodes["full"]
        model_tests = {
            t for t, n in manifest["nodes"].items() if n["resource_type"] == "test" and uid in n["depends_on"]["nodes"]
        }
        assert model_tests and not model_tests & ran["incremental"]


def test_a_full_build_drops_the_tables_of_models_the_project_no_longer_has(two_builds, tmp_path):
    """A model removed from the project (int_survey__quantile_psu_totals became a step of another query) left
    its last table in the warehouse, where a statistician would read stale rows; a full build drops what
    dbt's schemas hold beyond the project, and nothing outside them."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE intermediate.int_survey__quantile_psu_totals AS SELECT 1 AS stale")
    con.execute("CREATE VIEW marts.old_dashboard AS SELECT 1 AS stale")
    con.execute("CREATE TABLE audit.kept_by_wfm AS SELECT 1 AS kept")
    con.close()
    assert build(warehouse, run_id="incremental").mode == "incremental"
    assert {"int_survey__quantile_psu_totals", "old_dashboard"} <= relations(warehouse)  # only full builds look
    assert build(warehouse, run_id="full", full_refresh=True, unit_tests=False).mode == "full"
    left = relations(warehouse)
    assert "int_survey__quantile_psu_totals" not in left and "old_dashboard" not in left
    assert {"kept_by_wfm", "int_survey__quantile_intervals", "indicator_values", "stg_survey__responses"} <= left


def relations(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() UNION ALL "
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
    finally:
        con.close()


def test_a_build_in_a_worker_process_equals_one_in_this_process(two_builds, tmp_path):
    """`wfm run` builds in a dbt process started with the night (DbtWorker), with the project that process
    parsed before the new rows arrived: same plan, same nodes, same published values as a build in-process."""
    outcomes = {}
    for way in ("worker", "in-process"):
        warehouse = tmp_path / way / "warehouse.duckdb"
        warehouse.parent.mkdir()
        warehouse.write_bytes(two_builds["warehouse"].read_bytes())
        worker = DbtWorker(warehouse) if way == "worker" else None  # parses while the batch is loaded
        load(warehouse, "raw.enterprise_returns", enterprise_rows(np.random.default_rng(5)), "enterprise-w")
        result = build(warehouse, run_id=way, worker=worker)
        outcomes[way] = (result, published(warehouse))
        if worker is not None:
            worker.close()  # the worker writes dbt's artifacts after its answer; close waits for them
        target = dbt_paths(warehouse)[0]
        assert (target / "manifest.json").is_file()
        assert {
            r["unique_id"].split(".")[-1] for r in json.loads((target / "run_results.json").read_text())["results"]
        } >= {"indicator_values"}
    (by_worker, values_by_worker), (here, values_here) = outcomes["worker"], outcomes["in-process"]
    assert by_worker.success and (by_worker.mode, by_worker.periods) == ("incremental", here.periods)
    assert (by_worker.models, by_worker.tests, by_worker.seeds) == (here.models, here.tests, here.seeds)
    pd.testing.assert_frame_equal(values_by_worker, values_here, rtol=1e-9, atol=1e-12)


def test_a_failing_build_in_a_worker_names_the_failed_node(tmp_path):
    """dbt's failures cross the process boundary as they read in-process: the node and the reason, one line."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_schema(con)
    con.execute("alter table raw.survey_responses drop column design_weight")  # staging needs it
    con.close()
    with pytest.raises(WfmError) as failure:
        build(warehouse, worker=DbtWorker(warehouse))
    message = str(failure.value)
    failed_nodes, reason = message.removeprefix("build failed in ").split(": ", 1)
    assert message.startswith("build failed in ") and "stg_survey__responses" in failed_nodes
    assert 'column "design_weight"' in reason and "\n" not in message


def test_a_worker_gone_before_the_build_is_reported(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_schema(con)
    con.close()
    worker = DbtWorker(warehouse)
    worker._process.kill()
    worker._process.wait()
    with pytest.raises(WfmError, match="the dbt process ended without an answer"):
        build(warehouse, worker=worker)


def test_a_worker_reports_what_the_project_makes_as_its_manifest_says(tmp_path):
    """A full build drops what the project no longer makes (leftover_relations); in a worker it learns what the
    project makes from the worker's answer, before the worker has written manifest.json: the two must agree."""
    warehouse = tmp_path / "warehouse.duckdb"
    worker = DbtWorker(warehouse)
    outcome = worker.invoke(["parse", *common_args(warehouse)], vintage="")
    worker.close()
    manifest = json.loads((dbt_paths(warehouse)[0] / "manifest.json").read_text(encoding="utf-8"))
    from_file = {
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    assert outcome.success and outcome.made == from_file
    assert ("marts", "indicator_values") in from_file and ("reference", "provinces") in from_file
    assert not (dbt_paths(warehouse)[0] / "run_results.json").exists()  # parse runs no node


def test_a_worker_starts_from_a_script_without_a_main_guard(tmp_path):
    """A statistician's script calling the night at its top level: the worker must not run the script again
    (multiprocessing's spawn would, and fail)."""
    script = tmp_path / "night.py"
    script.write_text(
        "from pathlib import Path\n"
        "from wfm.build import DbtWorker\n"
        "from wfm.build.dbt import common_args\n"
        f"warehouse = Path({str(tmp_path / 'warehouse.duckdb')!r})\n"
        "worker = DbtWorker(warehouse)\n"
        "outcome = worker.invoke(['parse', *common_args(warehouse)], vintage='')\n"
        "print('parsed' if outcome.success else outcome.error)\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout.strip()) == (0, "parsed"), done.stderr[-2000:]


def test_wfm_build_full_refresh_recomputes_every_period(two_builds, tmp_path, capsys):
    from wfm import cli

    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(two_builds["warehouse"].read_bytes())
    assert cli.main(["--home", str(home), "build", "--full-refresh"]) == 0
    assert "full: every period" in capsys.readouterr().out
    modes = query(home / "warehouse.duckdb", "select mode from audit.builds order by finished_at")["mode"]
    assert modes.tolist()[-1] == "full"


def test_a_period_leaving_its_provisional_window_rebuilds_its_source(two_builds):
    """Wave 2025 ends on 31 December 2025 and is provisional for 90 days, until 31 March 2026: between two
    vintages on either side of that day its statuses change, so its source cannot be skipped."""
    con = duckdb.connect(str(two_builds["warehouse"]), read_only=True)
    try:
        before, after, later = dt.datetime(2026, 3, 30), dt.datetime(2026, 4, 2), dt.datetime(2026, 11, 24)
        assert provisional_window_crossed(con, "survey", before, after)
        assert provisional_window_crossed(con, "enterprise", before, after)
        assert not provisional_window_crossed(con, "survey", after, later)
        assert not provisional_window_crossed(con, "survey", dt.datetime(2026, 1, 5), before)
    finally:
        con.close()


def test_a_changed_project_makes_the_build_full(two_builds, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    con = duckdb.connect(str(warehouse))
    try:
        assert plan(con).full is False  # nothing new, nothing changed
        monkeypatch.setattr("wfm.build.planning.project_fingerprint", lambda: "another project")
        assert plan(con).full is True
    finally:
        con.close()


@pytest.mark.parametrize(
    "dropped",
    ["VIEW marts.innovation", "TABLE intermediate.int_enterprise__current_returns", "TABLE reference.provinces"],
)
def test_a_table_or_view_dropped_by_hand_makes_the_next_build_full(two_builds, tmp_path, dropped):
    """An incremental build recreates no view and no seed, and would rebuild a table incremental by period whole
    but test only the new periods: what the last full build made and the warehouse lacks makes the build full,
    and the full build makes it again."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(two_builds["warehouse"].read_bytes())
    kind, name = dropped.split()
    con = duckdb.connect(str(warehouse))
    try:
        assert plan(con).full is False
        con.execute(f"DROP {kind} {name}")
        assert missing_relations(con) == [tuple(name.split("."))]
        assert plan(con).full is True
    finally:
        con.close()
    assert build(warehouse).mode == "full"
    con = duckdb.connect(str(warehouse))
    try:
        assert missing_relations(con) == [] and plan(con).full is False
    finally:
        con.close()


def test_broken_warehouse_fails_with_one_clear_line(tmp_path):
    warehouse = tmp_path / "broken.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw")  # the raw tables were never created
    con.close()
    with pytest.raises(WfmError) as failure:
        build(warehouse)
    message = str(failure.value)
    assert message.startswith("build failed")
    assert "\n" not in message and "Traceback" not in message
    assert "survey_responses" in message or "enterprise_returns" in message


def test_missing_warehouse_is_named(tmp_path):
    with pytest.raises(WfmError, match="does not exist"):
        build(tmp_path / "nowhere.duckdb")


def test_an_estimate_at_a_bound_is_never_published_as_normal(tmp_path):
    """Nobody trained: TRN01 is 0 % with zero linearised variance, so its CV is undefined and [0, 0] understates
    the uncertainty; it is published, flagged U (low reliability) with a quality note, not A."""
    rng = np.random.default_rng(5)
    warehouse = tmp_path / "warehouse.duckdb"
    load(warehouse, "raw.survey_responses", survey_rows(rng).assign(trained_12m=False), "survey-1")
    load(warehouse, "raw.enterprise_returns", enterprise_rows(rng), "enterprise-1")
    build(warehouse, run_id="bound")
    row = query(
        warehouse,
        "select value, se, cv, obs_status, conf_status, quality_note from marts.indicator_values "
        "where indicator_code = 'TRN01' and breakdown = 'national'",
    ).iloc[0]
    assert (row.value, row.se, row.obs_status, row.conf_status) == (0.0, 0.0, "U", "F")
    assert pd.isna(row.cv) and "CV undefined" in row.quality_note
    normal = query(
        warehouse,
        "select count(*) as n from marts.indicator_values "
        "where indicator_code = 'HRS01' and breakdown = 'national' and obs_status = 'A'",
    )
    assert normal.n[0] == 1  # an ordinary mean with a defined CV stays A
