"""Shared test helpers: small, valid input rows built by hand, and writers for every format of the contract."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from wfm.config import Home
from wfm.contract import ENTERPRISE, SURVEY
from wfm.ingest.codes import id_check_char, uscc_check_char

#: The catalog of ../shared/design/indicators.md: code → sources, as the registry writes them. Written out here,
#: independently of the registry seed, so that the tests need nothing outside the project.
CATALOG = {
    "TAL01": "E", "TAL02": "E", "TAL03": "E", "TAL04": "E", "SKL01": "W,E", "SKL02": "W,E", "SKL03": "W",
    "TRN01": "W", "TRN02": "W", "TRN03": "E", "EDU01": "E", "EDU02": "E", "EDU03": "E", "EDU04": "W",
    "LAB01": "W,E", "LAB02": "E", "LAB03": "E", "LAB04": "W,E", "LAB05": "E", "LAB06": "E", "WAG01": "W",
    "WAG02": "W", "WAG03": "W", "HRS01": "W", "HRS02": "W", "SAF01": "E", "SAF02": "E", "SOC01": "W",
    "NEF01": "W", "NEF02": "W", "CMP01": "W", "INN01": "E", "INN02": "E", "MIG01": "W", "YTH01": "W",
    "YTH02": "E", "PTY01": "W", "PTY02": "E", "STB01": "E", "DSP01": "E", "WEL01": "W",
}  # fmt: skip


os.environ.setdefault("WFM_DEMO", "1")  # tests use the public demo pseudonymisation key unless they set one
os.environ.setdefault("WFM_SETTLE_SECONDS", "0")  # a test's files are complete once written: no quiet period


def valid_id(region6: str, birth: str, seq: int) -> str:
    body = f"{region6}{birth}{seq:03d}"
    return body + id_check_char(body)


def valid_uscc(body17: str) -> str:
    return body17 + uscc_check_char(body17)


def survey_rows(n: int = 12, wave: str = "2026", prefix: str = "R") -> list[dict[str, str]]:
    """n valid respondents over 2 strata × 3 PSUs (so one quarantined row never leaves a stratum with a single
    PSU, which the gate would refuse); odd sequence numbers are men (GB 11643)."""
    rows = []
    for i in range(n):
        stratum = "44-C" if i % 2 == 0 else "11-C"
        male = i % 3 != 0
        rows.append(
            {
                "survey_wave": wave,
                "respondent_id": f"{prefix}{i:05d}",
                "id_number": valid_id("440101", "19900615", 2 * i + (1 if male else 2)),
                "stratum": stratum,
                "psu": f"P{(i // 2) % 3}",
                "design_weight": str(100 + i),
                "region_code": "440100" if stratum == "44-C" else "110105",
                "employer_uscc": valid_uscc("91440101MA5D0000" + str(i % 10)),
                "industry_code": "C3411",
                "occupation_code": "6-01-02",
                "sex": "1" if male else "2",
                "age": "36",
                "hukou_type": "1",
                "education": "2",
                "skill_level": "L3",
                "craftsman_title": "",
                "employment_form": "1",
                "contract_type": "2",
                "monthly_wage": str(4000 + 100 * i),
                "weekly_hours": "48",
                "overtime_hours_month": "20",
                "trained_12m": "是" if i % 2 else "否",
                "training_hours_12m": "12" if i % 2 else "0",
                "continuing_education": "否",
                "certificate": "Y",
                "union_member": "1",
                "party_member": "0",
                "social_insurance_injury": "是",
                "occupational_injury_protection": "",
                "competition_12m": "否",
                "innovation_12m": "否",
                "wage_arrears_12m": "否",
                "sense_achievement": "4",
                "sense_gain": "4",
                "sense_happiness": "5",
            }
        )
    return rows


def enterprise_rows(n: int = 6, period: str = "2026") -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        row = {c.name: "0" for c in ENTERPRISE}
        row.update(
            {
                "report_period": period,
                "uscc": valid_uscc(f"9144010{i:02d}MA5D0000"[:17]),
                "enterprise_name": f"测试企业{i}",
                "region_code": "440100",
                "industry_code": "C3411",
                "registration_type": "173",
                "state_controlled": "否",
                "revenue": "12,000",
                "employees_total": "500",
                "employees_avg": "480",
                "frontline_workers": "300",
                "dispatched_workers": "20",
                "contract_signed": "470",
                "skill_l3": "50",
                "payroll_total": "4000",
                "edu_fund_extracted": "80",
                "edu_fund_used": "60",
                "edu_fund_frontline": "40",
                "has_union": "是",
                "union_members": "300",
                "workers_congress_held": "是",
                "collective_contract": "是",
                "collective_contract_covered": "450",
                "employee_director": "否",
                "teams_total": "20",
                "teams_without_party_member": "2",
                "hires": "40",
                "hires_under35": "30",
                "separations": "35",
                "migrant_workers": "200",
                "submitted_at": "2026-03-01 10:00:00",
                "contact_person": "联系人张三丰",
                "contact_phone": "13800138000",
            }
        )
        rows.append(row)
    return rows


def write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", chinese: bool = False, source: str = "survey"
) -> Path:
    columns = SURVEY if source == "survey" else ENTERPRISE
    labels = {c.name: (c.label_zh if chinese else c.name) for c in columns}
    names = list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([labels.get(n, n) for n in names])
        for row in rows:
            writer.writerow([row[n] for n in names])
    return path


def write_xlsx(
    path: Path, rows: list[dict[str, str]], *, metadata: list[list[str]] | None = None, source: str = "survey"
) -> Path:
    import openpyxl

    columns = SURVEY if source == "survey" else ENTERPRISE
    labels = {c.name: c.label_zh for c in columns}
    book = openpyxl.Workbook()
    sheet = book.active
    for line in metadata or []:
        sheet.append(line)
    names = list(rows[0])
    sheet.append([labels.get(n, n) for n in names])
    for row in rows:
        sheet.append([row[n] for n in names])
    book.save(path)
    return path


def write_parquet(path: Path, rows: list[dict[str, str]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({k: [r[k] for r in rows] for k in rows[0]}), path)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home").ensure()


def query(home: Home, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the home's warehouse (opened and closed for this query)."""
    from wfm.ingest import open_warehouse

    con = open_warehouse(home)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def snapshot_rows(home: Home, sql: str) -> list[tuple]:
    """Rows of `sql` on the home's published snapshot, read-only as a reader opens it."""
    import duckdb

    con = duckdb.connect(str(home.published / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def quarantine_reasons(home: Home) -> dict[int, set[str]]:
    return {
        row: set(reasons.split(",")) for row, reasons in query(home, "SELECT row_number, reasons FROM audit.quarantine")
    }


def generated_night(seed: int, root: Path, **history: object) -> tuple[Home, Path]:
    """The generator's demo data for `seed` (refused files too; `history`: generate's periods, quarterly)
    delivered to a new home and run through the whole night; returns the home and the generated folder (its
    ground_truth.json, defects.json)."""
    import shutil

    from wfm.night import run_nightly
    from wfm_synthetic import generate

    generated = root / f"gen{seed}"
    generate(generated, scale="demo", seed=seed, **history)
    home = Home.resolve(root / f"home{seed}").ensure()
    for source in ("survey", "enterprise"):
        for folder in (generated / source, generated / "refused" / source):
            for path in folder.glob("*"):
                shutil.copy2(path, home.inbox(source) / path.name)
    run_nightly(home)
    return home, generated


def assert_nowhere_under(home: Home, secrets: set[str], printed: str) -> None:
    """No secret, in UTF-8, GB18030 or UTF-16, in any file the pipeline wrote under the home (the deliveries in
    inbox/, archive/ and rejected/ are kept as sent) nor in what the commands printed."""
    delivered = {home.root / "inbox", home.archive, home.rejected}
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
        assert secret not in printed


def assert_demo_night(home: Home, files: int) -> dict[str, int]:
    """A night on the demo data ended as it must: each of its `files` files logged once (some loaded, some
    refused by design), none loaded twice, the inbox empty, and the published snapshot's national TRN01 and
    LAB02 in range. Returns the files per outcome."""
    import duckdb

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        outcomes = dict(con.execute("SELECT outcome, count(*) FROM audit.load_log GROUP BY 1").fetchall())
        (twice,) = con.execute(
            "SELECT count(*) FROM (SELECT file_sha256 FROM audit.load_log WHERE outcome = 'loaded' "
            "GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone()
    finally:
        con.close()
    assert sum(outcomes.values()) == files and outcomes.get("loaded", 0) >= 2 and outcomes.get("rejected", 0) >= 1
    assert twice == 0
    assert not list(home.inbox("survey").iterdir()) and not list(home.inbox("enterprise").iterdir())
    snap = duckdb.connect(str(home.published / "marts.duckdb"), read_only=True)
    try:
        trn01 = snap.execute(
            "SELECT value, se FROM indicator_values WHERE indicator_code = 'TRN01' "
            "AND breakdown = 'national' AND source = 'W'"
        ).fetchall()
        lab02 = snap.execute(
            "SELECT value FROM indicator_values WHERE indicator_code = 'LAB02' "
            "AND breakdown = 'national' AND source = 'E'"
        ).fetchall()
    finally:
        snap.close()
    assert trn01 and all(0 < v < 100 and 0 < se < 10 for v, se in trn01)
    assert lab02 and all(v is not None and 0 <= v <= 100 for (v,) in lab02)
    return outcomes
