"""Ground truth: every published cell computed independently of the warehouse, in numpy and pandas.

Last computing room of the generator, beside the writers. It is the independent check of the dbt engine, so it
implements `docs/indicator-definitions.md` from the text, not from the SQL:

- **W** (survey indicators) on the whole synthetic population of the scope (enterprise workers of sections B–E
  and platform workers): what the survey estimates. The population is never held at once: `fold` reduces
  each block of workers to totals by cell (province × sex × age group × migrant × skill level ×
  section), from which every breakdown is a margin, and into wage histograms (wages are multiples of 10 yuan)
  from which the quantiles `inf{t : F(t) ≥ p}` are exact.
- **E** (enterprise indicators) on the returns the pipeline should accept: rows without an injected defect,
  the current version (latest `submitted_at`) per uscc and period.

Keys are `CODE|period|breakdown|member` (member may carry `|statistic`). A cell whose denominator is zero is
undefined (STB01 outside manufacturing, LAB06 where no enterprise has 300 employees …) and is left out, as the
warehouse publishes no row for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm_synthetic import codes
from wfm_synthetic.frames import N_PROV
from wfm_synthetic.workers import NO_SECTION, NONE_SKILL, Workers

Truth = dict[str, float | None]

SKILL_MEMBERS = (*codes.SKILL_CODES, "NONE")
AGE_GROUPS = ("16-24", "25-35", "36-45", "46-55", "56+")
QUANTILES = {"P10": (1, 10), "P25": (1, 4), "P50": (1, 2), "P75": (3, 4), "P90": (9, 10)}  # p as num/den
WAGE_STEP = 10  # wages are multiples of 10 yuan: the histograms have one bin per possible wage
WAGE_BINS = 30_001  # up to 300,000 yuan a month, the population's cap

# cell dimensions: province, sex (0 male, 1 female), age group, migrant (0/1), skill (L0..L7, none), section
_DIMS = (N_PROV, 2, 5, 2, NONE_SKILL + 1, NO_SECTION + 1)
_AXIS = {"province": 0, "sex": 1, "age_group": 2, "migrant": 3, "skill_level": 4, "industry_section": 5}
_VARS = (
    "n",
    "certificate",
    "trained",
    "training_hours",
    "continuing",
    "lab01_y",
    "lab01_x",
    "union",
    "arrears",
    "hours",
    "overtime36",
    "injury_insurance",
    "platform",
    "platform_union",
    "platform_oip",
    "competition",
    "party",
    "senses",
)

# (y, x, scale): ratio Σy/Σx × scale over the scope; y or x may name a cell-table variable or a derived one
_W_RATIOS: dict[str, tuple[str, str, float]] = {
    "SKL02": ("skill_high", "skill_graded", 100.0),
    "SKL03": ("certificate", "n", 100.0),
    "TRN01": ("trained", "n", 100.0),
    "TRN02": ("training_hours", "n", 1.0),
    "EDU04": ("continuing", "n", 100.0),
    "LAB01": ("lab01_y", "lab01_x", 100.0),
    "LAB04": ("union", "n", 100.0),
    "WAG03": ("arrears", "n", 100.0),
    "HRS01": ("hours", "n", 1.0),
    "HRS02": ("overtime36", "n", 100.0),
    "SOC01": ("injury_insurance", "n", 100.0),
    "NEF01": ("platform_union", "platform", 100.0),
    "NEF02": ("platform_oip", "platform", 100.0),
    "CMP01": ("competition", "n", 100.0),
    "MIG01": ("migrant", "n", 100.0),
    "YTH01": ("young", "n", 100.0),
    "PTY01": ("party", "n", 100.0),
    # WEL01 = mean of (s1+s2+s3)/3, rescaled (m − 1)/4 × 100 = Σ(s1+s2+s3−3) × 100/12 / n
    "WEL01": ("senses", "n", 100.0 / 12.0),
}


def _ratio(y: float, x: float, scale: float) -> float | None:
    return None if x == 0 else float(y / x * scale)


def key(code: str, period: str, breakdown: str, member: str, stat: str | None = None) -> str:
    return f"{code}|{period}|{breakdown}|{member}" + (f"|{stat}" if stat else "")


@dataclass
class Folded:
    """One block of workers reduced to the totals the truth needs (summed over blocks in any order: integers)."""

    cells: np.ndarray
    wage_by_province: np.ndarray
    wage_by_skill: np.ndarray


def fold(w: Workers) -> Folded:
    """Totals of one block of workers by cell, and its wage histograms."""
    age_group = np.searchsorted(np.array([25, 36, 46, 56]), w["age"], side="right")
    cell = np.ravel_multi_index(
        (
            w["prov"].astype(np.int64),
            (~w["male"]).astype(np.int64),
            age_group,
            (w["hukou"] == 1).astype(np.int64),
            w["skill"].astype(np.int64),
            w["sec"].astype(np.int64),
        ),
        _DIMS,
    )
    form = w["form"]
    platform = form == 3
    values = {
        "n": None,
        "certificate": w["certificate"],
        "trained": w["trained"],
        "training_hours": w["training_hours"],
        "continuing": w["continuing"],
        "lab01_y": ((form == 1) | (form == 4)) & (w["contract"] != 9),
        "lab01_x": (form == 1) | (form == 4),
        "union": w["union"],
        "arrears": w["arrears"],
        "hours": w["hours"],
        "overtime36": w["overtime"] > 36,
        "injury_insurance": w["injury_insurance"],
        "platform": platform,
        "platform_union": platform & w["union"],
        "platform_oip": platform & (w["oip"] == 1),
        "competition": w["competition"],
        "party": w["party"],
        "senses": (w["sense_achievement"].astype(np.int64) + w["sense_gain"] + w["sense_happiness"] - 3),
    }
    size = int(np.prod(_DIMS))
    cells = np.empty((size, len(_VARS)))
    for j, name in enumerate(_VARS):
        v = values[name]
        cells[:, j] = np.bincount(cell, weights=None if v is None else v.astype(np.float64), minlength=size)
    wage_bin = w["wage"] // WAGE_STEP
    by_province = np.bincount(w["prov"].astype(np.int64) * WAGE_BINS + wage_bin, minlength=N_PROV * WAGE_BINS).reshape(
        N_PROV, WAGE_BINS
    )
    by_skill = np.bincount(
        w["skill"].astype(np.int64) * WAGE_BINS + wage_bin, minlength=(NONE_SKILL + 1) * WAGE_BINS
    ).reshape(NONE_SKILL + 1, WAGE_BINS)
    return Folded(cells, by_province, by_skill)


class SurveyTruth:
    """Population totals of one period, accumulated block by block of workers."""

    def __init__(self) -> None:
        self.cells = np.zeros((int(np.prod(_DIMS)), len(_VARS)))
        self.wage_by_province = np.zeros((N_PROV, WAGE_BINS), dtype=np.int64)
        self.wage_by_skill = np.zeros((NONE_SKILL + 1, WAGE_BINS), dtype=np.int64)

    def add(self, w: Workers | Folded) -> None:
        f = w if isinstance(w, Folded) else fold(w)
        self.cells += f.cells
        self.wage_by_province += f.wage_by_province
        self.wage_by_skill += f.wage_by_skill

    # ---- reading the totals back ----

    def _table(self, name: str) -> np.ndarray:
        """A variable over the full cell grid, derived ones included."""
        shape = (*_DIMS,)
        if name in _VARS:
            return self.cells[:, _VARS.index(name)].reshape(shape)
        n = self.cells[:, 0].reshape(shape)
        skill = np.arange(NONE_SKILL + 1).reshape(1, 1, 1, 1, -1, 1)
        if name == "skill_high":
            return n * ((skill >= 3) & (skill <= 7))
        if name == "skill_graded":
            return n * ((skill >= 1) & (skill <= 7))
        if name == "migrant":
            return n * (np.arange(2).reshape(1, 1, 1, -1, 1, 1) == 1)
        if name == "young":  # age ≤ 35: the groups 16-24 and 25-35
            return n * (np.arange(5).reshape(1, 1, -1, 1, 1, 1) <= 1)
        if name.startswith("skill="):
            return n * (skill == int(name[6:]))
        raise KeyError(name)

    def _margins(self, name: str, breakdown: str) -> list[tuple[str, float]]:
        """Totals of a variable per member of a breakdown."""
        t = self._table(name)
        if breakdown == "national":
            return [("CN", float(t.sum()))]
        axis = _AXIS[breakdown]
        per = t.sum(axis=tuple(a for a in range(t.ndim) if a != axis))
        members = _members(breakdown)
        return [(m, float(per[i])) for i, m in enumerate(members) if m is not None]

    def values(self, period: str) -> Truth:
        out: Truth = {}
        for breakdown in ("national", *_AXIS):
            n = dict(self._margins("n", breakdown))
            for k, member in enumerate(SKILL_MEMBERS):
                y = dict(self._margins(f"skill={k}", breakdown))
                for m, x in n.items():
                    out[key("SKL01", period, breakdown, m, member)] = _ratio(y[m], x, 100.0)
            for code, (yname, xname, scale) in _W_RATIOS.items():
                y, x = dict(self._margins(yname, breakdown)), dict(self._margins(xname, breakdown))
                for m in x:
                    out[key(code, period, breakdown, m)] = _ratio(y[m], x[m], scale)
        out.update(self._wages(period))
        return out

    def _wages(self, period: str) -> Truth:
        out: Truth = {}
        groups = {
            "national": {"CN": self.wage_by_province.sum(axis=0)},
            "province": dict(zip(codes.PROVINCE_CODES, self.wage_by_province, strict=True)),
            "skill_level": dict(zip(SKILL_MEMBERS, self.wage_by_skill, strict=True)),
        }
        medians: dict[str, float | None] = {}
        for breakdown, hists in groups.items():
            for member, hist in hists.items():
                for stat, (num, den) in QUANTILES.items():
                    q = weighted_quantile_from_histogram(hist, num, den)
                    out[key("WAG01", period, breakdown, member, stat)] = q
                    if breakdown == "skill_level" and stat == "P50":
                        medians[member] = q
        base = medians["L1"]
        for level in codes.SKILL_CODES[2:]:
            m = medians[level]
            out[key("WAG02", period, "skill_level", level)] = (
                None if m is None or not base else (m / base - 1.0) * 100.0
            )
        return out


def weighted_quantile_from_histogram(hist: np.ndarray, num: int, den: int) -> float | None:
    """inf{t : F(t) ≥ num/den}, F the population distribution held as counts per 10-yuan wage; exact in
    integers (count·den ≥ num·N)."""
    total = int(hist.sum())
    if total == 0:
        return None
    cum = np.cumsum(hist)
    return float(int(np.argmax(cum * den >= num * total)) * WAGE_STEP)


def _members(breakdown: str) -> list[str | None]:
    return {
        "province": list(codes.PROVINCE_CODES),
        "sex": ["1", "2"],
        "age_group": list(AGE_GROUPS),
        "migrant": ["0", "1"],
        "skill_level": list(SKILL_MEMBERS),
        "industry_section": [*codes.SECTIONS, None],  # platform workers without an industry code: no member
    }[breakdown]


# --- enterprise indicators ------------------------------------------------------------------------------------

_E_RATIOS: dict[str, tuple[str, str, float]] = {
    "TRN03": ("training_person_times", "employees_avg", 1.0),
    "EDU01": ("edu_fund_extracted", "payroll_total", 100.0),
    "EDU02": ("edu_fund_frontline", "edu_fund_used", 100.0),
    "LAB01": ("contract_signed", "_non_dispatched", 100.0),
    "LAB02": ("dispatched_workers", "employees_total", 100.0),
    "LAB03": ("collective_contract_covered", "employees_total", 100.0),
    "LAB04": ("union_members", "employees_total", 100.0),
    "SAF01": ("work_injuries", "employees_avg", 100_000.0),
    "SAF02": ("occupational_disease_cases", "employees_avg", 100_000.0),
    "INN01": ("innovation_studios", "employees_total", 10_000.0),
    "INN02": ("adopted_suggestions", "employees_total", 100.0),
    "YTH02": ("hires_under35", "hires", 100.0),
    "PTY02": ("_teams_no_party_state", "_teams_state", 100.0),
    "STB01": ("_separations_c", "_employees_avg_c", 100.0),
    "DSP01": ("labor_disputes", "employees_total", 10_000.0),
    "SKL02": ("_skill_high", "_skill_graded", 100.0),
}
#: compliance: (statistic of the enterprise meets the threshold, base of enterprises it is judged among)
_COMPLIANCE = {
    "EDU01": ("_edu01_meets", "_payroll_pos"),
    "EDU02": ("_edu02_meets", "_used_pos"),
    "LAB01": ("_lab01_meets", "_all"),
    "LAB02": ("_lab02_meets", "_total_pos"),
}
_CRAFTSMEN = {
    "TAL01": ("craftsmen_national", 2000, "national"),
    "TAL02": ("craftsmen_provincial", 10_000, "provincial"),
    "TAL03": ("craftsmen_municipal", 50_000, "municipal"),
}
TAL04_BASE = 0.0  # progress in 2024 held in the targets seed; 0 until an office sets the real base


def industry_section_of(code: pd.Series) -> pd.Series:
    """Section letter of an industry code as written: its leading letter, or from its two-digit division."""
    code = code.fillna("").astype(str)
    letter = code.str.extract(r"^([A-Z])", expand=False)
    division = pd.to_numeric(code.str.extract(r"^[A-Z]?(\d{2})", expand=False), errors="coerce")
    derived = pd.Series(
        np.select(
            [division.between(6, 12), division.between(13, 43), division.between(44, 46), division.between(47, 50)],
            ["B", "C", "D", "E"],
            default="",
        ),
        index=code.index,
    )
    return letter.fillna(derived).replace("", None)


def size_class(section: pd.Series, employees: pd.Series, revenue: pd.Series) -> pd.Series:
    """统计上大中小微型企业划分办法(2017): B–D by employees and revenue (both must hold), E by revenue only."""
    industrial = np.select(
        [
            (employees >= 1000) & (revenue >= 40_000),
            (employees >= 300) & (revenue >= 2000),
            (employees >= 20) & (revenue >= 300),
        ],
        ["large", "medium", "small"],
        default="micro",
    )
    building = np.select(
        [revenue >= 80_000, revenue >= 6000, revenue >= 300], ["large", "medium", "small"], default="micro"
    )
    return pd.Series(np.where(section == "E", building, industrial), index=section.index)


def current_returns(accepted: pd.DataFrame) -> pd.DataFrame:
    """Latest `submitted_at` per uscc and period among the accepted rows (identical duplicates collapse)."""
    ordered = accepted.sort_values(["uscc", "report_period", "submitted_at"], kind="stable")
    return ordered.drop_duplicates(["uscc", "report_period"], keep="last")


def enterprise_truth(current: pd.DataFrame, period: str) -> Truth:
    """Every E cell of one period over the current accepted returns of the industrial scope."""
    df = current[current["report_period"] == period].reset_index(drop=True)
    df["_section"] = industry_section_of(df["industry_code"])
    df = df[df["_section"].isin(codes.SECTIONS)]
    used_columns = [
        "employees_total",
        "employees_avg",
        "revenue",
        "payroll_total",
        "edu_fund_used",
        "edu_fund_extracted",
        "edu_fund_frontline",
        "dispatched_workers",
        "contract_signed",
    ]
    if df[used_columns].isna().any().any():  # the generator never blanks a column an E indicator reads
        raise AssertionError("an accepted return misses a value an enterprise indicator needs")
    total, payroll, used = df["employees_total"], df["payroll_total"], df["edu_fund_used"]
    state = df["state_controlled"] == 1
    df["_non_dispatched"] = total - df["dispatched_workers"]
    df["_teams_state"] = df["teams_total"].where(state, 0)
    df["_teams_no_party_state"] = df["teams_without_party_member"].where(state, 0)
    df["_separations_c"] = df["separations"].where(df["_section"] == "C", 0)
    df["_employees_avg_c"] = df["employees_avg"].where(df["_section"] == "C", 0)
    df["_skill_high"] = df[[f"skill_l{k}" for k in range(3, 8)]].sum(axis=1)
    df["_skill_graded"] = df[[f"skill_l{k}" for k in range(1, 8)]].sum(axis=1)
    df["_all"] = 1
    df["_payroll_pos"] = (payroll > 0).astype(int)
    df["_used_pos"] = (used > 0).astype(int)
    df["_total_pos"] = (total > 0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["_edu01_meets"] = (df["edu_fund_extracted"] / payroll >= 0.015).astype(int)
        df["_edu02_meets"] = (df["edu_fund_frontline"] / used >= 0.60).astype(int)
        df["_lab01_meets"] = (df["contract_signed"] == df["_non_dispatched"]).astype(int)
        df["_lab02_meets"] = (df["dispatched_workers"] / total <= 0.10).astype(int)
        df["_edu03_over"] = ((payroll > 0) & (used / payroll > 0.08)).astype(int)
    df["_congress"] = (df["workers_congress_held"] == 1).astype(int)
    df["_big"] = (total >= 300).astype(int)
    df["_big_director"] = ((total >= 300) & (df["employee_director"] == 1)).astype(int)
    for code, (meets, base) in _COMPLIANCE.items():  # per enterprise, so that a cell's share is a ratio of sums
        in_base = df[base] == 1
        df[f"_{code}_base"] = in_base.astype(int)
        df[f"_{code}_meets"] = (in_base & (df[meets] == 1)).astype(int)
        df[f"_{code}_base_emp"] = total.where(in_base, 0)
        df[f"_{code}_meets_emp"] = total.where(in_base & (df[meets] == 1), 0)
    df["province"] = df["region_code"].astype(str).str[:2]
    df["industry_section"] = df["_section"]
    df["ownership"] = np.where(state, "state", "non_state")
    df["size_class"] = size_class(df["_section"], total, df["revenue"])
    df["national"] = "CN"

    out: Truth = {}
    year = int(period[:4])
    for breakdown in ("national", "province", "industry_section", "ownership", "size_class"):
        groups = df.groupby(breakdown, sort=True)
        sums = groups.sum(numeric_only=True)
        for member, row in sums.iterrows():
            m = str(member)
            for code, (column, target, _) in _CRAFTSMEN.items():
                value = float(row[column])
                out[key(code, period, breakdown, m)] = value
                out[key(code, period, breakdown, m, "progress")] = value / target * 100.0
            for k in range(8):
                out[key("SKL01", period, breakdown, m, f"L{k}")] = _ratio(
                    row[f"skill_l{k}"], row["employees_total"], 100.0
                )
            for code, (y, x, scale) in _E_RATIOS.items():
                out[key(code, period, breakdown, m)] = _ratio(row[y], row[x], scale)
            for code in _COMPLIANCE:
                out[key(code, period, breakdown, m, "compliance")] = _ratio(
                    row[f"_{code}_meets"], row[f"_{code}_base"], 100.0
                )
                out[key(code, period, breakdown, m, "compliance_emp")] = _ratio(
                    row[f"_{code}_meets_emp"], row[f"_{code}_base_emp"], 100.0
                )
            out[key("EDU03", period, breakdown, m)] = _ratio(row["_edu03_over"], row["_payroll_pos"], 100.0)
            out[key("LAB05", period, breakdown, m)] = _ratio(row["_congress"], row["_all"], 100.0)
            out[key("LAB06", period, breakdown, m)] = _ratio(row["_big_director"], row["_big"], 100.0)
    path = TAL04_BASE + (100.0 - TAL04_BASE) * (year - 2024) / (2035 - 2024)
    for code, (_, _, member) in _CRAFTSMEN.items():
        progress = out.get(key(code, period, "national", "CN", "progress"))
        out[key("TAL04", period, "national", "CN", member)] = None if progress is None else progress - path
    return out


# --- changes between periods ----------------------------------------------------------------------------------


def comparable_periods(period: str) -> list[tuple[str, str]]:
    """(earlier period, comparison) pairs a period is compared with: an annual period with the year before
    (`previous_year`); a quarter with the quarter before (`previous_quarter`) and the same quarter a year
    before (`previous_year`)."""
    year = int(period[:4])
    if len(period) == 4:
        return [(str(year - 1), "previous_year")]
    quarter = int(period[-1])
    previous = f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"
    return [(previous, "previous_quarter"), (f"{year - 1}Q{quarter}", "previous_year")]


def changes(cells: Truth) -> Truth:
    """The true change of every cell defined in both a period and an earlier comparable one: value − earlier
    value, keyed `CODE|period|earlier period|breakdown|member` (member with its `|statistic`)."""
    out: Truth = {}
    for k, value in cells.items():
        code, period, rest = k.split("|", 2)
        for earlier, _ in comparable_periods(period):
            before = cells.get(f"{code}|{earlier}|{rest}")
            if value is not None and before is not None:
                out[f"{code}|{period}|{earlier}|{rest}"] = value - before
    return out
