"""Spelling the values: logical values → the text (or typed cells) a file carries, in the file's own style.

Between `defects.py` and `writers.py`. The contract accepts many spellings of one value; each file uses its
style (`layout.FileStyle`) and, on rows without a defect, a few variants: thousands separators (`1,234`),
full-width digits (`１２３`), padding spaces around text, and item non-response written as one of the missing
markers (`—`, `无`, `NA`, `-`, empty). Variants never change a value once ingestion has normalised it, and never
touch a column an indicator's ground truth depends on in a way that would change it (for the enterprise returns,
missing markers go only to columns no indicator reads). Columns are built with pyarrow compute so a million rows
take seconds, not minutes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wfm.contract import COLUMNS
from wfm_synthetic import codes
from wfm_synthetic.layout import Sheet

MISSING_MARKERS = ("", "—", "NA", "无", "-")
YESNO = {"是否": ("否", "是"), "YN": ("N", "Y"), "10": ("0", "1"), "truefalse": ("false", "true")}
SKILL = {"code": codes.SKILL_CODES, "name": codes.SKILL_NAMES, "grade": codes.SKILL_GRADES}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

#: optional item columns where a respondent (or a return) may leave a value out. Enterprise: only columns no
#: indicator reads, so the ground truth over accepted returns is unaffected.
ITEM_COLUMNS = {
    "survey": (
        "monthly_wage",
        "weekly_hours",
        "overtime_hours_month",
        "training_hours_12m",
        "continuing_education",
        "certificate",
        "union_member",
        "party_member",
        "social_insurance_injury",
        "competition_12m",
        "innovation_12m",
        "wage_arrears_12m",
        "sense_achievement",
        "sense_gain",
        "sense_happiness",
        "occupation_code",
        "education",
        "contract_type",
    ),
    "enterprise": (
        "frontline_workers",
        "has_union",
        "competition_participants",
        "migrant_workers",
        "registration_type",
        "contact_person",
        "contact_phone",
    ),
}
THOUSANDS_COLUMNS = {
    "survey": ("monthly_wage", "design_weight"),
    "enterprise": (
        "revenue",
        "payroll_total",
        "edu_fund_extracted",
        "edu_fund_used",
        "employees_total",
        "employees_avg",
        "union_members",
        "contract_signed",
        "collective_contract_covered",
    ),
}
FULLWIDTH_COLUMNS = {
    "survey": (
        "age",
        "monthly_wage",
        "weekly_hours",
        "overtime_hours_month",
        "training_hours_12m",
        "sex",
        "education",
        "region_code",
    ),
    "enterprise": (
        "employees_total",
        "employees_avg",
        "frontline_workers",
        "hires",
        "separations",
        "teams_total",
        "revenue",
        "region_code",
        "industry_code",
    ),
}
PADDED_COLUMNS = {"survey": ("stratum", "psu", "occupation_code"), "enterprise": ("enterprise_name", "uscc")}
DECIMALS = {"design_weight": 4, "revenue": 1}  # other numbers: amounts with 2 decimals, or whole numbers


def _kind(source: str) -> dict[str, str]:
    return {c.name: c.kind for c in COLUMNS[source]}


def _ints(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values.astype(np.int64)), pa.string())


def base_text(sheet: Sheet, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Every contract column as text in the file's style, before variants and overrides (null = empty)."""
    df = sheet.data
    kinds = _kind(sheet.source)
    n = len(df)
    out: dict[str, pa.Array] = {}
    for name, kind in kinds.items():
        v = df[name].to_numpy()
        if name == "craftsman_title" and sheet.source == "survey":
            out[name] = pc.take(pa.array(list(codes.CRAFTSMAN_TITLES)), pa.array(v.astype(np.int64)))
        elif kind in ("text", "personal"):
            out[name] = pa.array(v, type=pa.string(), from_pandas=True)
        elif kind == "skill":
            style = sheet.style.skill
            pick = rng.integers(0, 3, n) if style == "mixed" else np.full(n, ["code", "name", "grade"].index(style))
            table = pa.array([*codes.SKILL_CODES, "", *codes.SKILL_NAMES, "", *codes.SKILL_GRADES, ""])
            out[name] = pc.take(table, pa.array(pick * 9 + v.astype(np.int64)))
        elif kind == "yesno":
            style = sheet.style.yesno
            styles = list(YESNO)
            pick = rng.integers(0, 4, n) if style == "mixed" else np.full(n, styles.index(style))
            table = pa.array([t for s in styles for t in YESNO[s]])
            index = pa.array(pick * 2 + np.maximum(v.astype(np.int64), 0), mask=v.astype(np.int64) < 0)
            out[name] = pc.take(table, index)
        elif kind == "timestamp":
            stamps = pa.array(v.astype("datetime64[s]"), mask=np.isnat(v))
            out[name] = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S")
        elif kind == "number" and v.dtype.kind == "f":
            out[name] = pc.cast(pa.array(np.round(v, DECIMALS.get(name, 2))), pa.string())
        else:  # int, code, and numbers held as integers
            out[name] = _ints(v)
    return out


def _with_thousands(text: str) -> str:
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = body.partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")


def variants_and_overrides(sheet: Sheet, columns: dict[str, pa.Array], rng: np.random.Generator) -> set[str]:
    """Apply the style's variants to clean rows, then the sheet's overrides (defects and missing cells); returns
    the columns where a new text holds a comma, a quote or a line break (a CSV must quote those)."""
    n = len(sheet.data)
    clean = np.ones(n, dtype=bool)
    clean[list(sheet.reasons)] = False
    style = sheet.style
    cells: dict[str, dict[int, str | None]] = {}

    def candidates(column: str, share: float) -> np.ndarray:
        if share <= 0 or column not in columns:
            return np.zeros(0, dtype=np.int64)
        chosen = np.flatnonzero(clean & (rng.random(n) < share))
        overridden = sheet.overrides.get(column, {})
        return np.array([r for r in chosen.tolist() if r not in overridden], dtype=np.int64)

    for column in THOUSANDS_COLUMNS[sheet.source]:
        rows = candidates(column, style.thousands)
        texts = columns[column].take(pa.array(rows)).to_pylist()
        for r, t in zip(rows.tolist(), texts, strict=True):
            if t is not None and len(t.lstrip("-").partition(".")[0]) >= 4:
                cells.setdefault(column, {})[r] = _with_thousands(t)
    for column in FULLWIDTH_COLUMNS[sheet.source]:
        rows = candidates(column, style.fullwidth)
        texts = columns[column].take(pa.array(rows)).to_pylist()
        for r, t in zip(rows.tolist(), texts, strict=True):
            if t and r not in cells.get(column, {}):
                cells.setdefault(column, {})[r] = t.translate(FULLWIDTH)
    for column in PADDED_COLUMNS[sheet.source]:
        rows = candidates(column, style.fullwidth / 4)
        texts = columns[column].take(pa.array(rows)).to_pylist()
        for r, t in zip(rows.tolist(), texts, strict=True):
            if t:
                cells.setdefault(column, {})[r] = f" {t} "
    for column in ITEM_COLUMNS[sheet.source]:
        for r in candidates(column, style.missing).tolist():
            cells.setdefault(column, {})[r] = None
    for column, overrides in sheet.overrides.items():
        cells.setdefault(column, {}).update(overrides)

    structural = set()
    for column, by_row in cells.items():
        rows = np.array(sorted(by_row), dtype=np.int64)
        texts = [by_row[r] for r in rows.tolist()]
        texts = [
            MISSING_MARKERS[i] if t is None else t
            for t, i in zip(texts, rng.integers(0, len(MISSING_MARKERS), len(texts)), strict=True)
        ]
        if any(c in t for t in texts for c in ',"\r\n'):
            structural.add(column)
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        columns[column] = pc.replace_with_mask(columns[column], pa.array(mask), pa.array(texts, type=pa.string()))
    return structural


#: free text, which may hold a comma, a quote or a line break; every other column is a code or a number
FREE_TEXT = {"enterprise_name", "contact_person", "contact_phone"}


def text_table(sheet: Sheet, rng: np.random.Generator) -> tuple[dict[str, pa.Array], set[str]]:
    """Every contract column as text, and the columns a CSV writer must check for quoting."""
    columns = base_text(sheet, rng)
    structural = variants_and_overrides(sheet, columns, rng)
    return columns, (structural | FREE_TEXT) & columns.keys()


def typed_table(sheet: Sheet) -> pa.Table:
    """Parquet: canonical names, native types; overrides are nulls (missing) or text in string columns."""
    df = sheet.data
    arrays = {}
    for name, kind in _kind(sheet.source).items():
        v = df[name].to_numpy()
        overrides = sheet.overrides.get(name, {})
        null = np.zeros(len(df), dtype=bool)
        for r, t in overrides.items():
            if t is None:
                null[r] = True
        if name == "craftsman_title" and sheet.source == "survey":
            values = np.array(codes.CRAFTSMAN_TITLES, dtype=object)[v.astype(np.int64)]
            arr = _strings(values, overrides, null | (v == 0))
        elif kind == "skill":
            values = np.array([*codes.SKILL_CODES, ""], dtype=object)[v.astype(np.int64)]
            arr = _strings(values, overrides, null | (v == 8))
        elif kind in ("text", "personal"):
            arr = _strings(v, overrides, null | (v == ""))
        elif kind == "yesno":
            arr = pa.array(v.astype(np.int64) == 1, mask=null | (v.astype(np.int64) < 0))
        elif kind == "timestamp":
            arr = pa.array(v.astype("datetime64[s]"), mask=null | np.isnat(v))
        elif kind == "number":
            arr = pa.array(v.astype(np.float64), mask=null)
        else:
            arr = pa.array(v.astype(np.int64), mask=null)
        if kind not in ("text", "personal", "skill") and any(t is not None for t in overrides.values()):
            raise ValueError(f"{sheet.path}: a text override cannot be stored in the typed column {name}")
        arrays[name] = arr
    return pa.table(arrays)


def _strings(values: np.ndarray, overrides: dict[int, str | None], null: np.ndarray) -> pa.Array:
    values = values.astype(object).copy()
    for r, t in overrides.items():
        if t is not None:
            values[r] = t
            null[r] = False
    return pa.array(values, type=pa.string(), mask=null)
