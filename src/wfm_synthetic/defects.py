"""Defects on purpose: rows that break each row rule of `docs/reason-codes.md`, duplicates and resubmissions.

Between the sources' tables and the writers. Each defective row carries one intended defect and the reason code
(or the two codes, when one cannot go without the other) that ingestion must give it; `defects.json` records
them by file and 1-based data row. Defects never touch rows that are part of a duplicate pair or a
resubmission, so each pair stays what it claims to be. The survey loses at most about 1 % of its rows to them,
chosen at random, so the estimates stay close to the population truth; enterprise truth is computed on the rows
that stay (see `truth.py`).

A defect is either a change of the row's logical values (an age outside 16–75 with an ID number that agrees with
it, frontline > total …), which every format can carry, or a text written instead of the value (`五千` in a
wage, `2` in a yes/no column), which only text-typed cells can carry: such kinds skip parquet files unless the
column is a string there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm_synthetic import codes
from wfm_synthetic.layout import Sheet

ALL = frozenset({"csv", "xlsx", "parquet"})
TEXT = frozenset({"csv", "xlsx"})
Apply = Callable[[Sheet, np.ndarray, np.random.Generator, int], None]


@dataclass(frozen=True)
class Kind:
    codes: tuple[str, ...]
    apply: Apply
    formats: frozenset[str] = ALL
    eligible: Callable[[pd.DataFrame], np.ndarray] | None = None


def _pick(rng: np.random.Generator, choices: list, n: int) -> list:
    return [choices[i] for i in rng.integers(0, len(choices), n)]


def _col(sheet: Sheet, column: str, rows: np.ndarray) -> np.ndarray:
    return sheet.data[column].to_numpy()[rows]


def _set(sheet: Sheet, column: str, rows: np.ndarray, values: np.ndarray | list) -> None:
    # in the column's own type, so that pandas neither upcasts the column nor turns its text into Arrow strings
    sheet.data.loc[rows, column] = np.asarray(values, dtype=sheet.data[column].dtype)


def _missing(column: str) -> Apply:
    def apply(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
        sheet.override(column, rows, [None] * rows.size)

    return apply


def _text(column: str, choices: list[str]) -> Apply:
    def apply(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
        sheet.override(column, rows, _pick(rng, choices, rows.size))

    return apply


def _value(column: str, make: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Apply:
    def apply(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
        _set(sheet, column, rows, make(_col(sheet, column, rows), rng))

    return apply


def _wrong_check(valid: str) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Replace the last character by another character of the alphabet: only the check is wrong."""

    def make(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = []
        for v, k in zip(values, rng.integers(1, len(valid), values.size), strict=True):
            out.append(v[:-1] + valid[(valid.index(v[-1]) + k) % len(valid)])
        return np.array(out, dtype=object)

    return make


def _bad_uscc(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A character outside the alphabet (I, O, S, V, Z) in the body, or one character short."""
    out = []
    for v, pos, c, short in zip(
        values,
        rng.integers(2, 17, values.size),
        _pick(rng, list("IOSVZ"), values.size),
        rng.random(values.size) < 0.3,
        strict=True,
    ):
        out.append(v[:17] if short else v[:pos] + c + v[pos + 1 :])
    return np.array(out, dtype=object)


def _bad_region(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array(
        [v[:5] if k else v + "0" for v, k in zip(values, rng.random(values.size) < 0.5, strict=True)], dtype=object
    )


def _unknown_province(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array(
        [p + v[2:] for v, p in zip(values, _pick(rng, ["99", "20", "00", "66"], values.size), strict=True)],
        dtype=object,
    )


def _bad_industry(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A section letter that is not the division's, or a division that does not exist (99)."""
    out = []
    for v, u in zip(values, rng.random(values.size), strict=True):
        digits = v.lstrip("BCDE") if v else ""
        if digits and u < 0.6:
            section = codes.section_of_division(digits[:2])
            out.append({"B": "C", "C": "B", "D": "E", "E": "D"}[section] + digits)
        else:
            out.append("99" + ("12" if u < 0.8 else ""))
    return np.array(out, dtype=object)


# --- survey kinds ---------------------------------------------------------------------------------------------


def _age_out_of_range(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    """Age outside 16–75 with an ID number whose birth date agrees: only the range is broken."""
    age = np.array(_pick(rng, [14, 15, 76, 79, 83], rows.size), dtype=np.int64)
    region = np.array([s[:6] for s in _col(sheet, "id_number", rows)])
    male = _col(sheet, "sex", rows) == 1
    _set(sheet, "age", rows, age)
    _set(sheet, "id_number", rows, codes.make_id_numbers(region, age, male, year, rng).astype(object))


def _age_mismatch(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    age = _col(sheet, "age", rows)
    _set(sheet, "age", rows, np.where(age <= 70, age + rng.integers(3, 6, rows.size), age - 4))


def _sex_mismatch(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    _set(sheet, "sex", rows, 3 - _col(sheet, "sex", rows))


def _sex_invalid(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    # the ID number is left out so that no implementation can also compare the invalid sex with it
    _set(sheet, "sex", rows, np.array(_pick(rng, [0, 3, 9], rows.size)))
    _set(sheet, "id_number", rows, np.array([""] * rows.size, dtype=object))


def _id_bad_format(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    """An impossible birth date (30 February) with a correct check character, or a digit too few."""
    out = []
    for v, short in zip(_col(sheet, "id_number", rows), rng.random(rows.size) < 0.3, strict=True):
        if short:
            out.append(v[:16] + v[17])
        else:
            body = v[:10] + "0230" + v[14:17]
            out.append(body + codes.id_check_char(body))
    _set(sheet, "id_number", rows, np.array(out, dtype=object))


def _training_without(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    _set(sheet, "trained_12m", rows, np.zeros(rows.size))
    _set(sheet, "training_hours_12m", rows, rng.integers(4, 60, rows.size))


def _training_out_of_range(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    _set(sheet, "trained_12m", rows, np.ones(rows.size))
    _set(sheet, "training_hours_12m", rows, rng.integers(2001, 5000, rows.size))


def _has(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda df: df[column].to_numpy() != ""


SURVEY_KINDS: dict[str, Kind] = {
    "survey_wave_missing": Kind(("survey_wave_missing",), _missing("survey_wave")),
    "survey_wave_bad_format": Kind(("survey_wave_bad_format",), _text("survey_wave", ["2026年", "2026Q5", "2026-H1"])),
    "respondent_id_missing": Kind(("respondent_id_missing",), _missing("respondent_id")),
    "stratum_missing": Kind(("stratum_missing",), _missing("stratum")),
    "psu_missing": Kind(("psu_missing",), _missing("psu")),
    "design_weight_missing": Kind(("design_weight_missing",), _missing("design_weight")),
    "design_weight_out_of_range": Kind(
        ("design_weight_out_of_range",),
        _value("design_weight", lambda v, rng: np.where(rng.random(v.size) < 0.5, 0.0, -v)),
    ),
    "design_weight_not_number": Kind(("design_weight_not_number",), _text("design_weight", ["待定", "见附表"]), TEXT),
    "id_number_check_digit": Kind(("id_number_check_digit",), _value("id_number", _wrong_check("0123456789X"))),
    "id_number_bad_format": Kind(("id_number_bad_format",), _id_bad_format),
    "sex_id_mismatch": Kind(("sex_id_mismatch",), _sex_mismatch),
    "age_id_mismatch": Kind(("age_id_mismatch",), _age_mismatch),
    "age_out_of_range": Kind(("age_out_of_range",), _age_out_of_range),
    "region_code_bad_format": Kind(("region_code_bad_format",), _value("region_code", _bad_region)),
    "region_code_unknown_province": Kind(("region_code_unknown_province",), _value("region_code", _unknown_province)),
    "employer_uscc_bad_format": Kind(
        ("employer_uscc_bad_format",), _value("employer_uscc", _bad_uscc), eligible=_has("employer_uscc")
    ),
    "employer_uscc_check_digit": Kind(
        ("employer_uscc_check_digit",),
        _value("employer_uscc", _wrong_check(codes.USCC_ALPHABET)),
        eligible=_has("employer_uscc"),
    ),
    "industry_code_invalid": Kind(("industry_code_invalid",), _value("industry_code", _bad_industry)),
    "occupation_code_invalid": Kind(
        ("occupation_code_invalid",),
        _value(
            "occupation_code",
            lambda v, rng: np.array(
                _pick(rng, ["9-01-01-01", "0-18-01-01", "6-18-1-01", "61801", "6-18-01-01-01"], v.size), dtype=object
            ),
        ),
    ),
    "sex_invalid_code": Kind(("sex_invalid_code",), _sex_invalid),
    "hukou_type_invalid_code": Kind(
        ("hukou_type_invalid_code",), _value("hukou_type", lambda v, rng: np.array(_pick(rng, [4, 9], v.size)))
    ),
    "education_invalid_code": Kind(
        ("education_invalid_code",), _value("education", lambda v, rng: np.array(_pick(rng, [6, 7, 9], v.size)))
    ),
    "employment_form_invalid_code": Kind(
        ("employment_form_invalid_code",),
        _value("employment_form", lambda v, rng: np.array(_pick(rng, [0, 5], v.size))),
    ),
    "contract_type_invalid_code": Kind(
        ("contract_type_invalid_code",), _value("contract_type", lambda v, rng: np.array(_pick(rng, [4, 5], v.size)))
    ),
    "skill_level_invalid_code": Kind(
        ("skill_level_invalid_code",), _text("skill_level", ["L8", "九级", "高高级工", "L10"])
    ),
    "craftsman_title_invalid_code": Kind(
        ("craftsman_title_invalid_code",), _text("craftsman_title", ["县级", "区级", "全国"])
    ),
    "trained_12m_invalid_code": Kind(("trained_12m_invalid_code",), _text("trained_12m", ["2", "不确定"]), TEXT),
    "union_member_invalid_code": Kind(("union_member_invalid_code",), _text("union_member", ["2", "是否"]), TEXT),
    "monthly_wage_not_number": Kind(("monthly_wage_not_number",), _text("monthly_wage", ["五千", "面议", "5千"]), TEXT),
    "monthly_wage_out_of_range": Kind(
        ("monthly_wage_out_of_range",),
        _value(
            "monthly_wage",
            lambda v, rng: np.where(rng.random(v.size) < 0.3, -800, rng.integers(1_000_001, 5_000_000, v.size)),
        ),
    ),
    "weekly_hours_out_of_range": Kind(
        ("weekly_hours_out_of_range",), _value("weekly_hours", lambda v, rng: rng.integers(113, 169, v.size))
    ),
    "overtime_hours_month_out_of_range": Kind(
        ("overtime_hours_month_out_of_range",),
        _value("overtime_hours_month", lambda v, rng: rng.integers(201, 320, v.size)),
    ),
    "training_hours_12m_out_of_range": Kind(("training_hours_12m_out_of_range",), _training_out_of_range),
    "sense_gain_not_integer": Kind(("sense_gain_not_integer",), _text("sense_gain", ["3.5", "4.5", "2.5"]), TEXT),
    "sense_happiness_out_of_range": Kind(
        ("sense_happiness_out_of_range",),
        _value("sense_happiness", lambda v, rng: np.array(_pick(rng, [0, 6, 7], v.size))),
    ),
    "training_hours_without_training": Kind(("training_hours_without_training",), _training_without),
    # the sender numbered the questionnaires by the respondent's ID number
    "respondent_id_personal_data": Kind(
        ("respondent_id_personal_data",),
        lambda sh, rows, rng, year: sh.override("respondent_id", rows, list(_col(sh, "id_number", rows))),
        eligible=_has("id_number"),
    ),
}


# --- enterprise kinds -----------------------------------------------------------------------------------------


def _exceed(column: str, than: Callable[[pd.DataFrame, np.ndarray], np.ndarray]) -> Apply:
    """`column` set a little above the bound the rule compares it with."""

    def apply(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
        _set(sheet, column, rows, than(sheet.data, rows) + rng.integers(1, 6, rows.size))

    return apply


def _num(df: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    return df[column].to_numpy()[rows]


def _skill_exceed(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    df = sheet.data
    levels = sum(_num(df, f"skill_l{k}", rows) for k in range(8))
    gap = _num(df, "employees_total", rows) - levels
    _set(sheet, "skill_l1", rows, _num(df, "skill_l1", rows) + gap + rng.integers(1, 6, rows.size))


def _dispatched_exceed(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    # dispatched > total makes total − dispatched negative, so contract_signed (≥ 0) exceeds it too
    _set(sheet, "dispatched_workers", rows, _num(sheet.data, "employees_total", rows) + rng.integers(1, 4, rows.size))


def _covered_exceed(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    _set(sheet, "collective_contract", rows, np.ones(rows.size))
    _set(
        sheet,
        "collective_contract_covered",
        rows,
        _num(sheet.data, "employees_total", rows) + rng.integers(1, 6, rows.size),
    )


def _covered_without(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    total = _num(sheet.data, "employees_total", rows)
    _set(sheet, "collective_contract", rows, np.zeros(rows.size))
    _set(sheet, "collective_contract_covered", rows, np.maximum(np.round(total * 0.9), 1))


def _frontline_fund_exceed(sheet: Sheet, rows: np.ndarray, rng: np.random.Generator, year: int) -> None:
    used = _num(sheet.data, "edu_fund_used", rows)
    _set(sheet, "edu_fund_frontline", rows, np.round(used + rng.uniform(0.5, 5.0, rows.size), 2))


ENTERPRISE_KINDS: dict[str, Kind] = {
    "report_period_missing": Kind(("report_period_missing",), _missing("report_period")),
    "report_period_bad_format": Kind(
        ("report_period_bad_format",), _text("report_period", ["2026年度", "2026Q0", "2026-13"])
    ),
    "uscc_missing": Kind(("uscc_missing",), _missing("uscc")),
    "uscc_bad_format": Kind(("uscc_bad_format",), _value("uscc", _bad_uscc)),
    "uscc_check_digit": Kind(("uscc_check_digit",), _value("uscc", _wrong_check(codes.USCC_ALPHABET))),
    "enterprise_name_missing": Kind(("enterprise_name_missing",), _missing("enterprise_name")),
    "region_code_bad_format": Kind(("region_code_bad_format",), _value("region_code", _bad_region)),
    "region_code_unknown_province": Kind(("region_code_unknown_province",), _value("region_code", _unknown_province)),
    "industry_code_invalid": Kind(("industry_code_invalid",), _value("industry_code", _bad_industry)),
    "registration_type_invalid_code": Kind(
        ("registration_type_invalid_code",),
        _value("registration_type", lambda v, rng: np.array(_pick(rng, [999, 400, 100], v.size))),
    ),
    "state_controlled_invalid_code": Kind(
        ("state_controlled_invalid_code",), _text("state_controlled", ["不详", "2"]), TEXT
    ),
    "revenue_out_of_range": Kind(("revenue_out_of_range",), _value("revenue", lambda v, rng: -np.maximum(v, 1.0))),
    "revenue_not_number": Kind(("revenue_not_number",), _text("revenue", ["约500万", "保密"]), TEXT),
    "employees_avg_not_integer": Kind(
        ("employees_avg_not_integer",),
        lambda sh, rows, rng, year: sh.override(
            "employees_avg", rows, [f"{v}.5" for v in _col(sh, "employees_avg", rows)]
        ),
        TEXT,
    ),
    "work_injuries_out_of_range": Kind(
        ("work_injuries_out_of_range",), _value("work_injuries", lambda v, rng: -rng.integers(1, 4, v.size))
    ),
    "frontline_workers_exceeds_total": Kind(
        ("frontline_workers_exceeds_total",), _exceed("frontline_workers", lambda df, r: _num(df, "employees_total", r))
    ),
    "dispatched_workers_exceeds_total": Kind(
        ("dispatched_workers_exceeds_total", "contract_signed_exceeds_employees"), _dispatched_exceed
    ),
    "contract_signed_exceeds_employees": Kind(
        ("contract_signed_exceeds_employees",),
        _exceed("contract_signed", lambda df, r: _num(df, "employees_total", r) - _num(df, "dispatched_workers", r)),
    ),
    "skill_counts_exceed_total": Kind(("skill_counts_exceed_total",), _skill_exceed),
    "payroll_total_not_positive": Kind(
        ("payroll_total_not_positive",), _value("payroll_total", lambda v, rng: np.zeros(v.size))
    ),
    "edu_fund_frontline_exceeds_used": Kind(("edu_fund_frontline_exceeds_used",), _frontline_fund_exceed),
    "union_members_exceeds_total": Kind(
        ("union_members_exceeds_total",), _exceed("union_members", lambda df, r: _num(df, "employees_total", r))
    ),
    "collective_contract_covered_exceeds_total": Kind(("collective_contract_covered_exceeds_total",), _covered_exceed),
    "collective_contract_covered_without_contract": Kind(
        ("collective_contract_covered_without_contract",), _covered_without
    ),
    "teams_without_party_member_exceeds_teams": Kind(
        ("teams_without_party_member_exceeds_teams",),
        _exceed("teams_without_party_member", lambda df, r: _num(df, "teams_total", r)),
    ),
    "hires_under35_exceeds_hires": Kind(
        ("hires_under35_exceeds_hires",), _exceed("hires_under35", lambda df, r: _num(df, "hires", r))
    ),
    "migrant_workers_exceeds_total": Kind(
        ("migrant_workers_exceeds_total",), _exceed("migrant_workers", lambda df, r: _num(df, "employees_total", r))
    ),
    "submitted_at_missing": Kind(("submitted_at_missing",), _missing("submitted_at")),
    "submitted_at_bad_format": Kind(
        ("submitted_at_bad_format",), _text("submitted_at", ["2027-02-30 09:15:00", "二〇二七年二月", "上周五"]), TEXT
    ),
}


# --- placing them ---------------------------------------------------------------------------------------------


def _free_rows(sheets: list[Sheet], count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` distinct unprotected rows spread over the sheets in proportion to their size, as sorted positions
    per sheet; they are protected from then on."""
    sizes = np.array([len(s.data) for s in sheets], dtype=float)
    per_sheet = rng.multinomial(count, sizes / sizes.sum())
    chosen = []
    for sheet, c in zip(sheets, per_sheet, strict=True):
        free = np.flatnonzero(~sheet.data["_protected"].to_numpy())
        rows = np.sort(rng.choice(free, min(int(c), free.size), replace=False))
        sheet.data.loc[rows, "_protected"] = True
        chosen.append(rows)
    return chosen


def insert_copies(sheets: list[Sheet], n_copies: int, code: str, rng: np.random.Generator) -> None:
    """Exact duplicate rows: a copy of a clean row, placed after it in the same file or in a later file (by
    name); the copy carries `code`. Originals and copies are protected from other defects."""
    if n_copies <= 0 or not sheets:
        return
    inserts: dict[int, list[tuple[np.ndarray, pd.DataFrame]]] = {}
    for src, rows in enumerate(_free_rows(sheets, n_copies, rng)):
        if rows.size == 0:
            continue
        # every other copy goes to a later file when there is one, the rest further down the same file
        later = len(sheets) - 1 - src
        to_later = (np.arange(rows.size) % 2 == 1) & (later > 0)
        dst = np.where(to_later, src + 1 + rng.integers(0, max(later, 1), rows.size), src)
        copies = sheets[src].data.iloc[rows].assign(_key=-1)
        for d in np.unique(dst):
            mine = dst == d
            n_dst = len(sheets[d].data)
            low = np.where(d == src, rows[mine] + 1, 0)
            at = low + np.floor(rng.random(int(mine.sum())) * (n_dst + 1 - low)).astype(np.int64)
            inserts.setdefault(int(d), []).append((at, copies[mine]))
    for d, items in inserts.items():
        _insert(sheets[d], items, code)


def _insert(sheet: Sheet, items: list[tuple[np.ndarray, pd.DataFrame]], code: str) -> None:
    """Insert rows before the given positions of the current order; record the copies' reason code."""
    base = sheet.data.assign(_at=np.arange(len(sheet.data)), _copy=0)
    extra = pd.concat([frame.assign(_at=at, _copy=-1) for at, frame in items])
    merged = pd.concat([base, extra], ignore_index=True).sort_values(["_at", "_copy"], kind="stable")
    is_copy = merged["_copy"].to_numpy() < 0
    copies = np.flatnonzero(is_copy)
    new_of_old = np.empty(len(base), dtype=np.int64)  # overrides and reasons so far refer to old positions
    new_of_old[merged["_at"].to_numpy()[~is_copy]] = np.flatnonzero(~is_copy)
    merged = merged.drop(columns=["_at", "_copy"]).reset_index(drop=True)
    merged.loc[copies, "_protected"] = True
    sheet.overrides = {c: {int(new_of_old[r]): t for r, t in cells.items()} for c, cells in sheet.overrides.items()}
    sheet.reasons = {int(new_of_old[r]): v for r, v in sheet.reasons.items()}
    sheet.data = merged
    sheet.flag(copies, code)


def reuse_ids(sheets: list[Sheet], n: int, rng: np.random.Generator) -> None:
    """Survey: a later respondent written with the number of an earlier one of the same wave (a typing slip);
    the later row carries `respondent_id_duplicate`."""
    for sheet, rows in zip(sheets, _free_rows(sheets, 2 * n, rng), strict=True):
        rows = rng.permutation(rows)
        pairs = np.sort(rows[: rows.size // 2 * 2].reshape(-1, 2), axis=1)
        if pairs.size == 0:
            continue
        ids = sheet.data["respondent_id"].to_numpy()
        sheet.data.loc[pairs[:, 1], "respondent_id"] = ids[pairs[:, 0]]
        sheet.flag(pairs[:, 1], "respondent_id_duplicate")


def inject(sheets: list[Sheet], kinds: dict[str, Kind], n_rows: int, rng: np.random.Generator, year: int) -> None:
    """Give `n_rows` clean, unprotected rows one defect each: every kind at least once (where a file can carry
    it), the rest spread at random over kinds; rows chosen at random across the files."""
    names = list(kinds)
    counts = np.ones(len(names), dtype=np.int64)
    rest = max(n_rows - len(names), 0)
    counts += np.bincount(rng.integers(0, len(names), rest), minlength=len(names))
    used = [sheet.data["_protected"].to_numpy().copy() for sheet in sheets]
    for name, count in zip(names, counts, strict=True):
        kind = kinds[name]
        targets = [i for i, s in enumerate(sheets) if s.style.fmt in kind.formats]
        if not targets:
            continue
        weights = np.array([len(sheets[i].data) for i in targets], dtype=float)
        per_sheet = rng.multinomial(int(count), weights / weights.sum())
        for i, c in zip(targets, per_sheet, strict=True):
            if c == 0:
                continue
            ok = ~used[i]
            if kind.eligible is not None:
                ok &= kind.eligible(sheets[i].data)
            free = np.flatnonzero(ok)
            rows = np.sort(rng.choice(free, min(int(c), free.size), replace=False))
            if rows.size == 0:
                continue
            kind.apply(sheets[i], rows, rng, year)
            sheets[i].flag(rows, *kind.codes)
            used[i][rows] = True
