"""The synthetic data generator (`wfm_synthetic`): what ingestion, dbt and the acceptance checks rely on.

The files are read back here with a reader of the test's own (csv module, openpyxl, pyarrow), and identifiers
are checked with check-digit code written here, not imported from the generator or from `wfm.ingest.codes`: a shared
mistake could not pass unnoticed. Demo scale only: the national run is timed by hand (timings are no pass/fail).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow.parquet as pq
import pytest
from conftest import CATALOG

from wfm.contract import COLUMNS, header_aliases
from wfm_synthetic import generate

SEED = 20261124
MISSING = {"", "—", "-", "无", "NA"}
PROJECT = Path(__file__).resolve().parents[2]

# --- independent check digits ----------------------------------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    weights = [3**i % 31 for i in range(17)]  # 1, 3, 9, 27, 19, 26, … : powers of 3 modulo 31
    check = 31 - sum(USCC_CHARS.index(c) * w for c, w in zip(code, weights, strict=False)) % 31
    return USCC_CHARS[check % 31] == code[17]


def id_birth(code: str) -> date | None:
    if not re.fullmatch(r"\d{17}[\dX]", code):
        return None
    try:
        return date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


def id_valid(code: str) -> bool:
    if id_birth(code) is None:
        return False
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, …
    return "10X98765432"[sum(int(c) * w for c, w in zip(code, weights, strict=False)) % 11] == code[17]


def age_on_30_june(birth: date, year: int) -> int:
    return year - birth.year - ((birth.month, birth.day) > (6, 30))


# --- reading the files back ------------------------------------------------------------------------------------


def norm(value: object) -> str | None:
    """The contract's value normalisation: NFKC, trimmed, missing markers → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return None if text in MISSING else text


def number(value: str | None) -> float | None:
    return None if value is None else float(value.replace(",", ""))


def yes(value: str | None) -> bool | None:
    return (
        None
        if value is None
        else {"是": True, "y": True, "1": True, "true": True, "否": False, "n": False, "0": False, "false": False}[
            value.lower()
        ]
    )


def read_rows(path: Path, source: str) -> tuple[list[str | None], list[list[str | None]], int]:
    """(canonical column per position or None, data rows as normalised text, rows above the header)."""
    aliases = {unicodedata.normalize("NFKC", k).strip(): v for k, v in header_aliases(source).items()}
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        rows = [[norm(v) for v in row.values()] for row in table.to_pylist()]
        return [aliases.get(c) for c in table.column_names], rows, 0
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        raw = [list(r) for r in sheet.iter_rows(values_only=True)]
        above = next(i for i, r in enumerate(raw) if sum(norm(c) in aliases for c in r) >= len(COLUMNS[source]) // 2)
        header, body = raw[above], raw[above + 1 :]
    else:
        data = path.read_bytes()
        text = data[3:].decode("utf-8") if data.startswith(b"\xef\xbb\xbf") else None
        if text is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
        parsed = list(csv.reader(io.StringIO(text, newline="")))
        header, body, above = parsed[0], parsed[1:], 0
    columns = [aliases.get(norm(h) or "") for h in header]
    return columns, [[norm(v) for v in row] for row in body], above


class Dataset:
    """One generated folder, read back: rows per file as {column: text}, in file order."""

    def __init__(self, root: Path, manifest: dict) -> None:
        self.root, self.manifest = root, manifest
        self.defects = json.loads((root / "defects.json").read_text(encoding="utf-8"))
        self.truth = json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))
        self.files: dict[str, list[dict[str, str | None]]] = {}
        self.layout: dict[str, tuple[list[str | None], int]] = {}
        for rel, entry in sorted(manifest["files"].items()):
            if "refused" in entry:
                continue
            columns, rows, above = read_rows(root / rel, entry["source"])
            self.layout[rel] = (columns, above)
            self.files[rel] = [{c: v for c, v in zip(columns, row, strict=True) if c} for row in rows]

    def rows(self, source: str, clean: bool = True):
        """(file, 1-based row, row) in load order; clean: only rows without an intended defect."""
        for rel in sorted(self.files):
            if self.manifest["files"][rel]["source"] != source:
                continue
            bad = self.defects["files"][rel]["rows"]
            for i, row in enumerate(self.files[rel], start=1):
                if not clean or str(i) not in bad:
                    yield rel, i, row

    def flagged(self, code: str):
        for rel in sorted(self.files):
            for r, codes in self.defects["files"][rel]["rows"].items():
                if code in codes:
                    yield rel, int(r), self.files[rel][int(r) - 1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = tmp_path_factory.mktemp("demo")
    return Dataset(root, generate(root, scale="demo", seed=SEED))


@pytest.fixture(scope="module")
def demo_again(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo_again")
    generate(root, scale="demo", seed=SEED)
    return root


def _all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- reproducibility -------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(demo: Dataset, demo_again: Path) -> None:
    first, second = _all_files(demo.root), _all_files(demo_again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_another_seed_gives_other_data(demo: Dataset, tmp_path: Path) -> None:
    generate(tmp_path, scale="demo", seed=SEED + 1, formats=("csv",))
    for rel in ("survey/survey_2026_01.csv", "enterprise/returns_2026_01.csv", "ground_truth.json"):
        assert (tmp_path / rel).read_bytes() != (demo.root / rel).read_bytes(), rel


# --- files -----------------------------------------------------------------------------------------------------


def test_every_file_maps_to_the_contract_columns(demo: Dataset) -> None:
    for rel, (columns, _) in demo.layout.items():
        entry = demo.manifest["files"][rel]
        required = {c.name for c in COLUMNS[entry["source"]] if c.header_required}
        assert required <= set(columns), (rel, required - set(columns))
        unknown = [i for i, c in enumerate(columns) if c is None]
        assert len(unknown) == (1 if entry["extra_column"] else 0), rel
        assert len(demo.files[rel]) == demo.defects["files"][rel]["rows_total"] == entry["rows"]


def test_each_source_has_every_format_and_encoding(demo: Dataset) -> None:
    for source in ("survey", "enterprise"):
        entries = [e for e in demo.manifest["files"].values() if e["source"] == source and "refused" not in e]
        assert {e["format"] for e in entries} == {"csv", "xlsx", "parquet"}
        assert {e["encoding"] for e in entries if e["format"] == "csv"} == {"utf-8", "utf-8-sig", "gb18030"}
        assert {e["header"] for e in entries} >= {"en", "zh", "mixed"}


def test_an_xlsx_has_form_metadata_above_its_header(demo: Dataset) -> None:
    xlsx = [rel for rel in demo.layout if rel.endswith(".xlsx")]
    assert xlsx
    for rel in xlsx:
        columns, above = demo.layout[rel]
        assert above > 0
        first_rows = list(
            openpyxl.load_workbook(demo.root / rel, read_only=True)
            .worksheets[0]
            .iter_rows(max_row=above, values_only=True)
        )
        labels = " ".join(str(c) for row in first_rows for c in row if c)
        for word in ("表", "制定机关", "批准文号", "有效期至", "计量单位"):
            assert word in labels


def test_a_gb18030_file_is_not_utf8(demo: Dataset) -> None:
    gb = [rel for rel, e in demo.manifest["files"].items() if e.get("encoding") == "gb18030"]
    assert gb
    for rel in gb:
        data = (demo.root / rel).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert "调查期" in data.decode("gb18030") or "报告期" in data.decode("gb18030")


def test_values_use_the_contract_spellings(demo: Dataset) -> None:
    """Full-width digits, thousands separators, missing markers and every yes/no spelling occur somewhere."""
    text = "".join(
        (demo.root / rel).read_bytes().decode("gb18030" if e.get("encoding") == "gb18030" else "utf-8-sig")
        for rel, e in demo.manifest["files"].items()
        if e["format"] == "csv" and "refused" not in e
    )
    assert re.search(r"[０-９]{2}", text)
    assert re.search(r'"\d{1,3},\d{3}', text)
    assert "—" in text and ",NA," in text
    for word in ("是", "否", ",Y,", ",N,", ",true,", ",false,"):
        assert word in text
    skills = {row.get("skill_level") for _, _, row in demo.rows("survey")}
    assert {"L3", "高级工", "三级"} <= skills


# --- the survey design -----------------------------------------------------------------------------------------


def test_design_weights_sum_to_the_population(demo: Dataset) -> None:
    weights = [number(row["design_weight"]) for _, _, row in demo.rows("survey")]
    population = demo.manifest["population"]["workers"]["2026"]["total"]
    assert abs(sum(weights) / population - 1) < 0.03


def test_every_stratum_has_at_least_two_psus(demo: Dataset) -> None:
    psus: dict[str, set[str]] = {}
    for _, _, row in demo.rows("survey"):
        psus.setdefault(row["stratum"], set()).add(row["psu"])
    assert len(psus) > 100
    assert min(len(p) for p in psus.values()) >= 2
    assert any(s.startswith("PLAT-") for s in psus)


def test_survey_estimates_are_close_to_the_population_truth(demo: Dataset) -> None:
    """Weighted proportions from the clean rows land near the truth of the whole population."""
    checks = {"TRN01": "trained_12m", "LAB04": "union_member", "SOC01": "social_insurance_injury"}
    for code, column in checks.items():
        pairs = [
            (number(r["design_weight"]), yes(r[column])) for _, _, r in demo.rows("survey") if r.get(column) is not None
        ]
        estimate = 100 * sum(w for w, y in pairs if y) / sum(w for w, _ in pairs)
        assert abs(estimate - demo.truth["W"][f"{code}|2026|national|CN"]) < 3.0, code


# --- identifiers -----------------------------------------------------------------------------------------------


def test_ids_and_usccs_of_clean_rows_are_valid(demo: Dataset) -> None:
    checked = 0
    for _, _, row in demo.rows("survey"):
        if row["employer_uscc"] is not None:
            assert uscc_valid(row["employer_uscc"]), row["employer_uscc"]
        if row["id_number"] is not None:
            ident = row["id_number"]
            assert id_valid(ident), ident
            assert (int(ident[16]) % 2 == 1) == (row["sex"] == "1")
            assert age_on_30_june(id_birth(ident), 2026) == int(number(row["age"]))
            assert ident[:2] in {
                "11",
                "12",
                "13",
                "14",
                "15",
                "21",
                "22",
                "23",
                "31",
                "32",
                "33",
                "34",
                "35",
                "36",
                "37",
                "41",
                "42",
                "43",
                "44",
                "45",
                "46",
                "50",
                "51",
                "52",
                "53",
                "54",
                "61",
                "62",
                "63",
                "64",
                "65",
            }
            checked += 1
    for _, _, row in demo.rows("enterprise"):
        assert uscc_valid(row["uscc"]), row["uscc"]
    assert checked > 5000


# --- defects ---------------------------------------------------------------------------------------------------


def _reason_codes() -> tuple[set[str], list[str]]:
    text = (PROJECT / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    text = text.split("## Row rules", 1)[1].split("## Whole-file", 1)[0]
    codes = set(re.findall(r"^\| `([a-z0-9_]+)`", text, flags=re.M))
    codes |= set(re.findall(r", `([a-z0-9_]+)` \|", text))
    templates = re.findall(r"^\| `<col>_([a-z_]+)`", text, flags=re.M)
    return codes, templates


def test_defects_cover_every_row_rule(demo: Dataset) -> None:
    used = {c for f in demo.defects["files"].values() for codes in f.get("rows", {}).values() for c in codes}
    specific, templates = _reason_codes()
    assert specific - used == set()
    for rule in templates:
        assert any(c.endswith("_" + rule) for c in used), rule
    columns = {c.name for cols in COLUMNS.values() for c in cols}
    for code in used - specific:  # every templated code names a contract column
        assert any(code == f"{col}_{rule}" for col in columns for rule in templates), code


def test_defect_share_stays_small(demo: Dataset) -> None:
    survey = [f for f in demo.defects["files"].values() if f["source"] == "survey" and "rows" in f]
    flagged, total = sum(len(f["rows"]) for f in survey), sum(f["rows_total"] for f in survey)
    assert 0 < flagged <= 0.011 * total


def test_flagged_rows_break_the_rule_they_claim(demo: Dataset) -> None:
    def some(code: str) -> list[dict]:
        rows = [row for _, _, row in demo.flagged(code)]
        assert rows, code
        return rows

    for row in some("id_number_check_digit"):
        assert id_birth(row["id_number"]) is not None and not id_valid(row["id_number"])
    for row in some("id_number_bad_format"):
        assert id_birth(row["id_number"]) is None
    for row in some("sex_id_mismatch"):
        assert id_valid(row["id_number"]) and (int(row["id_number"][16]) % 2 == 1) != (row["sex"] == "1")
    for row in some("age_id_mismatch"):
        assert abs(age_on_30_june(id_birth(row["id_number"]), 2026) - int(number(row["age"]))) > 1
    for row in some("age_out_of_range"):
        assert not 16 <= number(row["age"]) <= 75
        assert age_on_30_june(id_birth(row["id_number"]), 2026) == int(number(row["age"]))
    for row in some("employer_uscc_check_digit"):
        assert len(row["employer_uscc"]) == 18 and not uscc_valid(row["employer_uscc"])
    for row in some("uscc_check_digit"):
        assert len(row["uscc"]) == 18 and not uscc_valid(row["uscc"])
    for row in some("region_code_unknown_province"):
        assert re.fullmatch(r"\d{6}", row["region_code"]) and row["region_code"][:2] not in {"11", "44", "65"}
    for row in some("training_hours_without_training"):
        assert yes(row["trained_12m"]) is False and number(row["training_hours_12m"]) > 0
    for row in some("frontline_workers_exceeds_total"):
        assert number(row["frontline_workers"]) > number(row["employees_total"])
    for row in some("edu_fund_frontline_exceeds_used"):
        assert number(row["edu_fund_frontline"]) > number(row["edu_fund_used"])
    for row in some("skill_counts_exceed_total"):
        assert sum(number(row[f"skill_l{k}"]) for k in range(8)) > number(row["employees_total"])


def test_duplicates_are_flagged_on_their_later_occurrence(demo: Dataset) -> None:
    seen: set[str] = set()
    for rel, i, row in demo.rows("survey", clean=False):
        rid = row["respondent_id"]
        flagged = "respondent_id_duplicate" in demo.defects["files"][rel]["rows"].get(str(i), [])
        if rid is not None and row["survey_wave"] == "2026":
            assert flagged == (rid in seen), (rel, i)
            seen.add(rid)
    keys: set[tuple] = set()
    for rel, i, row in demo.rows("enterprise", clean=False):
        key = (row["uscc"], row["report_period"], row["submitted_at"])
        flagged = "uscc_duplicate" in demo.defects["files"][rel]["rows"].get(str(i), [])
        if None not in key:
            assert flagged == (key in keys), (rel, i)
            keys.add(key)


def test_resubmissions_are_two_accepted_versions(demo: Dataset) -> None:
    assert demo.defects["resubmissions"]
    for rec in demo.defects["resubmissions"]:
        first = demo.files[rec["first"]["file"]][rec["first"]["row"] - 1]
        current = demo.files[rec["current"]["file"]][rec["current"]["row"] - 1]
        assert first["uscc"] == current["uscc"] == rec["uscc"]
        assert first["submitted_at"] < current["submitted_at"]
        assert number(first["payroll_total"]) != number(current["payroll_total"])
        for which in ("first", "current"):
            assert str(rec[which]["row"]) not in demo.defects["files"][rec[which]["file"]]["rows"]


def test_refused_files_are_refusable(demo: Dataset) -> None:
    refused = {rel: e for rel, e in demo.defects["files"].items() if "refused" in e}
    for source in ("survey", "enterprise"):
        kinds = {e["refused"].split(":")[0] for e in refused.values() if e["source"] == source}
        assert kinds == {"missing_column", "empty", "truncated", "encoding", "unreadable"}
    for rel, entry in refused.items():
        data = (demo.root / rel).read_bytes()
        kind = entry["refused"]
        if kind == "encoding":
            for codec in ("utf-8", "gb18030"):
                with pytest.raises(UnicodeDecodeError):
                    data.decode(codec)
        elif kind == "empty":
            assert len(list(csv.reader(io.StringIO(data.decode("utf-8"))))) == 1
        elif kind == "truncated":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            assert data.count(b'"') % 2 == 1 or len(rows[-1]) < len(rows[0])
        elif kind.startswith("missing_column:"):
            header = next(csv.reader(io.StringIO(data.decode("utf-8"))))
            aliases = header_aliases(entry["source"])
            assert kind.split(":")[1] not in {aliases.get(h) for h in header}
        elif kind == "unreadable":
            with pytest.raises(Exception):  # noqa: B017 - any failure to open is the point
                openpyxl.load_workbook(io.BytesIO(data))


# --- ground truth ----------------------------------------------------------------------------------------------


def _catalog() -> dict[str, set[str]]:
    """Indicator code → sources (W, E) of the design's catalog (written out in conftest.CATALOG)."""
    return {code: set(sources.split(",")) for code, sources in CATALOG.items()}


def test_ground_truth_covers_the_catalog(demo: Dataset) -> None:
    catalog = _catalog()
    assert len(catalog) == 41
    for code, sources in catalog.items():
        for source in sources:
            assert any(k.startswith(f"{code}|2026|") for k in demo.truth[source]), (code, source)
    for source in ("W", "E"):
        for k in demo.truth[source]:
            assert k.split("|")[0] in catalog and source in catalog[k.split("|")[0]], k
    w, e = demo.truth["W"], demo.truth["E"]
    assert {f"WAG01|2026|national|CN|P{p}" for p in (10, 25, 50, 75, 90)} <= w.keys()
    assert {f"WAG02|2026|skill_level|L{k}" for k in range(2, 8)} <= w.keys()
    assert e["TAL04|2026|national|CN|national"] == pytest.approx(
        e["TAL01|2026|national|CN|progress"] - 100 * (2026 - 2024) / 11
    )
    assert all(v is None or 0 <= v <= 100 for k, v in w.items() if k.split("|")[0] in ("SKL03", "MIG01", "NEF01"))


def test_enterprise_truth_matches_the_accepted_returns(demo: Dataset) -> None:
    """Recompute a few E cells from the files themselves: accepted rows, latest submitted_at per uscc."""
    current: dict[str, dict] = {}
    for _, _, row in demo.rows("enterprise"):
        if row["uscc"] not in current or row["submitted_at"] > current[row["uscc"]]["submitted_at"]:
            current[row["uscc"]] = row
    rows = list(current.values())
    total = sum(number(r["employees_total"]) for r in rows)
    dispatched = sum(number(r["dispatched_workers"]) for r in rows)
    assert demo.truth["E"]["LAB02|2026|national|CN"] == pytest.approx(100 * dispatched / total, rel=1e-12)
    assert demo.truth["E"]["TAL01|2026|national|CN"] == sum(number(r["craftsmen_national"]) for r in rows)
    used = [r for r in rows if number(r["edu_fund_used"]) > 0]
    meets = [r for r in used if number(r["edu_fund_frontline"]) / number(r["edu_fund_used"]) >= 0.6]
    assert demo.truth["E"]["EDU02|2026|national|CN|compliance"] == pytest.approx(100 * len(meets) / len(used))
    guangdong = [r for r in rows if r["region_code"].startswith("44")]
    payroll = sum(number(r["payroll_total"]) for r in guangdong)
    extracted = sum(number(r["edu_fund_extracted"]) for r in guangdong)
    assert demo.truth["E"]["EDU01|2026|province|44"] == pytest.approx(100 * extracted / payroll, rel=1e-9)


# --- periods and arguments -------------------------------------------------------------------------------------


def test_periods_and_formats(tmp_path: Path) -> None:
    manifest = generate(tmp_path, scale="demo", periods=2, formats=("csv",))
    assert manifest["periods"] == ["2025", "2026"]
    data = [rel for rel, e in manifest["files"].items() if "refused" not in e]
    assert {rel.rsplit(".", 1)[1] for rel in data} == {"csv"}
    for period in ("2025", "2026"):
        assert any(f"survey_{period}_" in rel for rel in data) and any(f"returns_{period}_" in rel for rel in data)
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert "HRS01|2025|national|CN" in truth["W"] and "LAB02|2025|national|CN" in truth["E"]


def test_a_history_moves_what_drifts_and_keeps_the_last_year(demo: Dataset, tmp_path: Path) -> None:
    """Two waves and quarterly returns: the drifting indicators move, the others barely; the true changes are
    the differences of the cells; 2026's survey is the same as a one-period data set's (its own streams)."""
    manifest = generate(tmp_path, scale="demo", seed=SEED, periods=2, formats=("csv",), quarterly=True)
    assert manifest["enterprise_periods"] == [f"{y}Q{q}" for y in (2025, 2026) for q in (1, 2, 3, 4)]
    data = [rel for rel, e in manifest["files"].items() if "refused" not in e]
    assert any("returns_2026Q3_" in rel for rel in data) and not any("returns_2026_" in rel for rel in data)
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["drift"]["trained"] > 0
    for key, value in demo.truth["W"].items():
        assert truth["W"][key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    w, changes = truth["W"], truth["changes"]
    moved = {code: w[f"{code}|2026|national|CN"] - w[f"{code}|2025|national|CN"] for code in ("TRN01", "HRS01")}
    assert moved["TRN01"] > 5 and moved["HRS01"] < -1  # participation up, hours down
    assert abs(w["SKL03|2026|national|CN"] - w["SKL03|2025|national|CN"]) < 0.5  # certificates stay
    assert changes["W"]["TRN01|2026|2025|national|CN"] == pytest.approx(moved["TRN01"])
    e = truth["E"]
    assert changes["E"]["SAF01|2026Q1|2025Q4|national|CN"] == pytest.approx(
        e["SAF01|2026Q1|national|CN"] - e["SAF01|2025Q4|national|CN"]
    )
    assert "SAF01|2026Q3|2025Q3|national|CN" in changes["E"] and "SAF01|2025Q1|2024Q4|national|CN" not in changes["E"]
    # a quarter's flows are about a quarter of a year's: injuries per 100k employees
    annual = demo.truth["E"]["SAF01|2026|national|CN"]
    assert 0.15 * annual < e["SAF01|2026Q2|national|CN"] < 0.35 * annual


@pytest.mark.parametrize("kwargs", [{"scale": "huge"}, {"formats": ("csv", "json")}, {"periods": 0}])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)


def test_weights_are_finite_and_positive(demo: Dataset) -> None:
    weights = np.array([number(r["design_weight"]) for _, _, r in demo.rows("survey")])
    assert np.isfinite(weights).all() and (weights > 0).all()
