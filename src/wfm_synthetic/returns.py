"""Source E: the enterprise returns, a census of the synthetic enterprises for each period.

Third room of the generator. Counts that the survey also measures are not drawn again: they are aggregated from
the enterprise's own synthetic workers (`WorkerTotals`), so the returns and the survey describe the same
population (skill counts, union members, dispatched workers, written contracts, migrant workers, craftsmen,
payroll). The rest (education fund, teams, injuries, hires …) is drawn per enterprise, consistent with the
contract's rules: frontline ≤ total, skill counts sum ≤ total, edu_fund_frontline ≤ used, and so on.

A few enterprises resubmit: their first return has slips (payroll under-reported, training or spending figures
off) and a later `submitted_at`; the correction carries the consistent figures and is the current return.
Amounts are in 万元 with two decimals; compliance ratios are kept away from their exact thresholds so that the
order of rounding in another engine cannot flip a flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wfm_synthetic.frames import text
from wfm_synthetic.workers import NONE_SKILL, Workers

_SURNAMES = np.array(
    list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁")
)
_GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文红玉兰海燕志宏鹏飞晓东"))

_FRONTLINE = np.array([0.70, 0.75, 0.55, 0.80])  # share of frontline workers by section B, C, D, E
_TURNOVER = np.array([0.12, 0.28, 0.08, 0.35])  # hires / separations a year (manufacturing churns)
_INJURY = np.array([900.0, 350.0, 120.0, 700.0])  # work injuries per 100,000 (mines and sites are worst)
_DISEASE = np.array([150.0, 20.0, 5.0, 10.0])  # occupational disease cases per 100,000


@dataclass
class WorkerTotals:
    """Per-enterprise totals of the synthetic workers, accumulated block by block."""

    n_units: int
    skill: np.ndarray = field(init=False)
    titles: np.ndarray = field(init=False)
    sums: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.skill = np.zeros((self.n_units, NONE_SKILL + 1), dtype=np.int64)
        self.titles = np.zeros((self.n_units, 4), dtype=np.int64)
        self.sums = {
            k: np.zeros(self.n_units)
            for k in ("union", "dispatched", "signed", "migrant", "wage", "trained", "competition")
        }

    def add(self, w: Workers | Folded) -> None:
        f = w if isinstance(w, Folded) else fold(w)
        self.skill[f.lo : f.hi] += f.skill
        self.titles[f.lo : f.hi] += f.titles
        for name, values in f.sums.items():
            self.sums[name][f.lo : f.hi] += values


@dataclass
class Folded:
    """One block's per-enterprise totals, for the enterprises lo..hi−1 (consecutive in a block)."""

    lo: int
    hi: int
    skill: np.ndarray
    titles: np.ndarray
    sums: dict[str, np.ndarray]


def fold(w: Workers) -> Folded:
    unit = w["unit"]
    lo, hi = int(unit[0]), int(unit[-1]) + 1
    local = unit - lo
    k = hi - lo
    form = w["form"]
    flags = {
        "union": w["union"],
        "dispatched": form == 2,
        "signed": ((form == 1) | (form == 4)) & (w["contract"] != 9),
        "migrant": w["hukou"] == 1,
        "wage": w["wage"],
        "trained": w["trained"],
        "competition": w["competition"],
    }
    return Folded(
        lo,
        hi,
        np.bincount(local * 9 + w["skill"], minlength=k * 9).reshape(k, 9),
        np.bincount(local * 4 + w["title"], minlength=k * 4).reshape(k, 4),
        {name: np.bincount(local, weights=v.astype(np.float64), minlength=k) for name, v in flags.items()},
    )


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    given2 = rng.random(n) < 0.7
    name = np.char.add(_SURNAMES[rng.integers(0, _SURNAMES.size, n)], _GIVEN[rng.integers(0, _GIVEN.size, n)])
    return np.where(given2, np.char.add(name, _GIVEN[rng.integers(0, _GIVEN.size, n)]), name)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake mobile numbers (1 + 3..9 + 9 digits) and a few landlines: personal data the pipeline must drop."""
    mobile = np.char.add("1", (rng.integers(3, 10, n) * 10**9 + rng.integers(0, 10**9, n)).astype(str))
    land = np.char.add(
        np.char.add("0", rng.integers(10, 1000, n).astype(str)),
        np.char.add("-", rng.integers(2_000_000, 9_000_000, n).astype(str)),
    )
    return np.where(rng.random(n) < 0.85, mobile, land)


def reported_industry_code(industry_class: np.ndarray, section: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How a return or a respondent writes the industry: mostly the class (`3411`), sometimes led by its section
    letter (`C3411`), sometimes only the division (`34`)."""
    u = rng.random(industry_class.shape[0])
    lettered = np.char.add(section, industry_class)
    division = np.char.ljust(industry_class, 2).astype("U2")
    return np.where(u < 0.76, industry_class, np.where(u < 0.90, lettered, division)).astype(object)


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(x * 100).astype(np.int64)


def build_returns(
    ent: pd.DataFrame,
    sizes: np.ndarray,
    totals: WorkerTotals,
    year: int,
    rng: np.random.Generator,
    quarter: int | None = None,
) -> pd.DataFrame:
    """One consistent return per enterprise for `year` (amounts in 万元), in the order of the frame; with
    `quarter` (1–4), the return for that quarter (`2026Q3`): stocks (employees, skill counts, members …) are
    the year's, flows (payroll, funds, hires, separations, injuries, training, suggestions) a quarter's."""
    n = sizes.size
    f = 1.0 if quarter is None else 0.25  # the period's share of a year, for flows
    months = 12 if quarter is None else 3
    sec = ent["sec"].to_numpy()
    state = ent["state"].to_numpy()
    log_size = np.log10(sizes)
    total = sizes
    avg = np.maximum(np.round(sizes * np.exp(0.04 * rng.standard_normal(n))), 1).astype(np.int64)
    frontline = rng.binomial(total, _FRONTLINE[sec])
    dispatched = totals.sums["dispatched"].astype(np.int64)
    signed = totals.sums["signed"].astype(np.int64)
    revenue = np.round(total * ent["productivity"].to_numpy() * np.exp(0.1 * rng.standard_normal(n)), 1)

    # payroll = the workers' monthly wages × 12, in 万元 (cents of 万元 = hundreds of yuan)
    payroll_c = np.maximum(np.round(totals.sums["wage"] * months / 100), 1).astype(np.int64)
    # 职工教育经费: extraction around 1.5 % of payroll (国发〔2002〕16号), higher in SOEs; some small firms none
    rate = np.exp(np.log(np.where(state, 0.022, 0.014)) + 0.5 * rng.standard_normal(n))
    rate = np.where(~state & (total < 50) & (rng.random(n) < 0.25), 0.0, rate)
    extracted_c = np.round(payroll_c * rate).astype(np.int64)
    used_c = np.round(extracted_c * np.exp(np.log(0.85) + 0.3 * rng.standard_normal(n))).astype(np.int64)
    heavy = rng.random(n) < 0.02  # a few spend far beyond the 8 % deductible cap (财税〔2018〕51号)
    used_c = np.where(heavy, np.round(payroll_c * rng.uniform(0.08, 0.12, n)), used_c).astype(np.int64)
    frontline_c = np.round(used_c * rng.beta(5.8, 4.2, n)).astype(np.int64)
    # keep ratios off the exact thresholds (1.5 %, 60 %, 8 %): integer cents make a tie exact and detectable
    extracted_c = np.where(extracted_c * 1000 == payroll_c * 15, extracted_c + 1, extracted_c)
    used_c = np.where(used_c * 100 == payroll_c * 8, used_c + 1, used_c)
    frontline_c = np.where((frontline_c * 10 == used_c * 6) & (frontline_c > 0), frontline_c - 1, frontline_c)

    has_union = ent["has_union"].to_numpy()
    congress = rng.random(n) < _sigmoid(-1.5 + 2.5 * state + 0.8 * log_size)
    collective = rng.random(n) < _sigmoid(-1.0 + 1.5 * state + 0.6 * log_size + 0.5 * has_union)
    covered = np.where(collective, np.round(total * rng.uniform(0.85, 1.0, n)), 0).astype(np.int64)
    director = rng.random(n) < np.where(total >= 300, np.where(state, 0.8, 0.3), 0.05)
    teams = np.where(frontline > 0, np.maximum(np.round(frontline / rng.uniform(8, 15, n)), 1), 0).astype(np.int64)
    no_party = rng.binomial(teams, np.where(state, 0.12, 0.55))
    hires = rng.binomial(total, _TURNOVER[sec] * f)
    skill = totals.skill
    titles = totals.titles
    out = pd.DataFrame(
        {
            "report_period": text(str(year) if quarter is None else f"{year}Q{quarter}", n),
            "uscc": text(ent["uscc"].to_numpy()),
            "enterprise_name": text(ent["enterprise_name"].to_numpy()),
            "region_code": text(ent["region_code"].to_numpy()),
            "industry_code": text(
                reported_industry_code(
                    ent["industry_class"].to_numpy().astype(str), np.array(["B", "C", "D", "E"])[sec], rng
                )
            ),
            "registration_type": ent["registration_type"].to_numpy(),
            "state_controlled": state.astype(np.int8),
            "revenue": revenue,
            "employees_total": total,
            "employees_avg": avg,
            "frontline_workers": frontline,
            "dispatched_workers": dispatched,
            "contract_signed": signed,
            **{f"skill_l{k}": skill[:, k] for k in range(8)},
            "craftsmen_national": titles[:, 3],
            "craftsmen_provincial": titles[:, 2],
            "craftsmen_municipal": titles[:, 1],
            "payroll_total": payroll_c / 100,
            "edu_fund_extracted": extracted_c / 100,
            "edu_fund_used": used_c / 100,
            "edu_fund_frontline": frontline_c / 100,
            "training_person_times": np.round(totals.sums["trained"] * rng.uniform(1.0, 2.5, n) * f).astype(np.int64),
            "has_union": has_union.astype(np.int8),
            "union_members": totals.sums["union"].astype(np.int64),
            "workers_congress_held": congress.astype(np.int8),
            "collective_contract": collective.astype(np.int8),
            "collective_contract_covered": covered,
            "employee_director": director.astype(np.int8),
            "teams_total": teams,
            "teams_without_party_member": no_party,
            "innovation_studios": rng.poisson(total / 1500 * np.where(state, 2.0, 1.0)),
            "adopted_suggestions": rng.poisson(total * 0.04 * np.where(state, 1.5, 1.0) * f),
            "competition_participants": np.round(totals.sums["competition"] * rng.uniform(1.0, 1.6, n) * f).astype(
                np.int64
            ),
            "work_injuries": rng.poisson(avg * _INJURY[sec] / 1e5 * f),
            "occupational_disease_cases": rng.poisson(avg * _DISEASE[sec] / 1e5 * f),
            "labor_disputes": rng.poisson(total * 6e-4 * np.where(state, 0.5, 1.0) * f),
            "hires": hires,
            "hires_under35": rng.binomial(hires, 0.62),
            "separations": rng.binomial(avg, np.maximum(_TURNOVER[sec] - 0.01, 0.01) * f),
            "migrant_workers": totals.sums["migrant"].astype(np.int64),
            "submitted_at": _submission_times(year, n, rng, quarter),
            "contact_person": text(_names(rng, n)),
            "contact_phone": text(_phones(rng, n)),
        }
    )
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _submission_times(year: int, n: int, rng: np.random.Generator, quarter: int | None = None) -> np.ndarray:
    """Annual returns are filed between 5 January and the end of March of the following year, quarterly ones
    between the 5th and the 30th day after the quarter; office hours."""
    day = rng.integers(4, 89, n) if quarter is None else rng.integers(4, 30, n)
    seconds = rng.integers(8 * 3600, 18 * 3600, n)
    base = np.datetime64(
        f"{year + 1}-01-01T00:00:00"
        if quarter is None or quarter == 4
        else f"{year}-{3 * quarter + 1:02d}-01T00:00:00",
        "s",
    )
    return base + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")


def slipped_versions(current: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """First, superseded versions of the returns in `current`: earlier `submitted_at`, some figures off (a
    payroll typed short, training and spending figures not yet final) but no rule broken."""
    first = current.copy()
    n = len(first)
    first["submitted_at"] = current["submitted_at"].to_numpy() - rng.integers(2, 40, n).astype("timedelta64[D]")
    first["payroll_total"] = np.maximum(
        np.round(current["payroll_total"].to_numpy() * rng.uniform(0.8, 0.95, n), 2), 0.01
    )
    first["training_person_times"] = np.round(
        current["training_person_times"].to_numpy() * rng.uniform(0.5, 0.9, n)
    ).astype(np.int64)
    # spending reported higher before correction keeps frontline ≤ used true
    first["edu_fund_used"] = np.round(current["edu_fund_used"].to_numpy() * rng.uniform(1.05, 1.3, n), 2)
    first["work_injuries"] = current["work_injuries"].to_numpy() + rng.integers(0, 3, n)
    return first
