"""Disclosure control of enterprise cells, end to end through `wfm.build.build()`.

Returns are laid out so that exactly these LAB02 cells of 2025 must be suppressed (statistics.md):
province 11 has two enterprises (threshold rule → C), which forces the free province with the fewest
enterprises, 31, to D; industry section D is dominated by one enterprise (two largest > 85 % → C), which
forces section E (fewest among the rest) to D. Everything else is published, including the national total,
a resubmitted return counts once (its latest version), and an out-of-scope enterprise in province 11 does not
rescue the cell.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from wfm.build import build
from wfm.disclosure.publication import audit_warehouse
from wfm.warehouse import ensure_schema

#: every test here reads one dbt build of the returns below
pytestmark = pytest.mark.slow

#: (industry_code, province, employees_total) per enterprise; dispatched workers are 5 % of employees.
ENTERPRISES = (
    [("06", "44", 1000)] * 5  # section B
    + [("C3411", "11", 2000)] * 2  # section C in province 11: the province's only two enterprises
    + [("C3411", "51", 2000)] * 8
    + [("D4411", "44", 5000), ("D4411", "44", 400), ("D4411", "44", 350), ("D4411", "44", 300)]  # dominated
    + [("47", "31", 800)] * 3  # section E, province 31: the smallest free cells
)


def returns() -> pd.DataFrame:
    rows = []
    for number, (industry, province, employees) in enumerate(ENTERPRISES):
        rows.append(enterprise_return(f"91110000{number:09d}X", industry, province, employees, 2026))
    # an earlier version of a province-11 return, superseded by the later one above
    stale = enterprise_return("91110000000000005X", "C3411", "11", 9000, 2026)
    stale["submitted_at"] = dt.datetime(2026, 1, 5)
    rows.append(stale)
    # wholesale (section F) in province 11: outside the scope, so it must not count towards the cell
    rows.append(enterprise_return("91110000999999999X", "5120", "11", 500, 2026))
    frame = pd.DataFrame(rows)
    frame["batch_id"] = "disclosure"
    frame["row_number"] = range(1, len(frame) + 1)
    frame["loaded_at"] = dt.datetime(2026, 3, 1)
    return frame


def enterprise_return(uscc: str, industry: str, province: str, employees: int, year: int) -> dict:
    return {
        "report_period": "2025",
        "uscc": uscc,
        "enterprise_name": f"企业{uscc[-6:]}",
        "region_code": province + "0101",
        "industry_code": industry,
        "registration_type": 159,
        "state_controlled": False,
        "revenue": 50000.0,
        "employees_total": employees,
        "employees_avg": employees,
        "dispatched_workers": employees // 20,
        "contract_signed": employees - employees // 20,
        "payroll_total": employees * 10.0,
        "submitted_at": dt.datetime(year, 2, 1),
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("disclosure") / "warehouse.duckdb"


@pytest.fixture(scope="module")
def lab02(warehouse: Path) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse))
    try:
        ensure_schema(con)
        frame = returns()
        con.register("frame", frame)
        con.execute("insert into raw.enterprise_returns by name select * from frame")
    finally:
        con.close()
    build(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select * from marts.indicator_values where indicator_code = 'LAB02' and member not like '%|%'"
        ).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def audited(lab02, warehouse) -> pd.DataFrame:
    """The attacker's audit of that build (as publication runs it)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return audit_warehouse(con)
    finally:
        con.close()


def status(cells: pd.DataFrame, breakdown: str, member: str) -> pd.Series:
    found = cells[(cells.breakdown == breakdown) & (cells.member == member)]
    assert len(found) == 1, f"{breakdown}|{member}"
    return found.iloc[0]


def test_two_enterprises_are_confidential(lab02):
    cell = status(lab02, "province", "11")
    assert cell.conf_status == "C"
    assert cell.n_unweighted == 2
    assert pd.isna(cell.value) and pd.isna(cell.numerator) and pd.isna(cell.denominator)


def test_dominated_cell_is_confidential(lab02):
    cell = status(lab02, "industry_section", "D")
    assert cell.n_unweighted == 4  # enough enterprises: it is the dominance rule that applies
    assert cell.conf_status == "C"
    assert pd.isna(cell.value)


def test_secondary_suppression_protects_every_confidential_magnitude(lab02, audited):
    suppressed = {(row.breakdown, row.member, row.conf_status) for row in lab02.itertuples() if row.conf_status != "F"}
    assert {("province", "11", "C"), ("industry_section", "D", "C")} <= suppressed
    assert {c for _, _, c in suppressed} == {"C", "D"}
    assert status(lab02, "national", "CN").conf_status == "F"
    # each breakdown with a confidential member has at least one more suppressed: none is alone
    for breakdown in ("province", "industry_section"):
        assert sum(1 for b, _, _ in suppressed if b == breakdown) >= 2
    assert {"national", "province", "industry_section", "ownership", "size_class"} <= set(lab02.breakdown)
    lab02_audit = audited[audited.indicator_code == "LAB02"]
    assert set(zip(lab02_audit.breakdown, lab02_audit.member, strict=True)) >= {
        ("province", "11"),
        ("industry_section", "D"),
    }
    assert audited["protected"].all() and not audited["exact"].any()


def test_published_values_use_current_returns_in_scope(lab02):
    in_scope = [employees for _, _, employees in ENTERPRISES]
    expected = 100 * sum(e // 20 for e in in_scope) / sum(in_scope)
    national = status(lab02, "national", "CN")
    assert national.value == pytest.approx(expected, rel=1e-12)
    assert national.n_unweighted == len(ENTERPRISES)
    assert pd.isna(national.se) and pd.isna(national.cv)
    expected_by_province = {"44": 100 * (250 + 20 + 17 + 15 + 250) / 11050, "51": 5.0, "31": 100 * 40 * 3 / 2400}
    published = lab02[(lab02.breakdown == "province") & (lab02.conf_status == "F")]
    assert len(published) >= 1
    for row in published.itertuples():
        assert row.value == pytest.approx(expected_by_province[row.member])
