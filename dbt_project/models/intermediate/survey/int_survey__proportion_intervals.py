"""Korn–Graubard 95 % intervals of the survey proportions (statistics.md; R's svyciprop(method = "beta")).

A Python model because the interval needs quantiles of the beta distribution, which DuckDB does not have:
scipy.stats.beta.ppf (the inverse regularized incomplete beta, ~1e-15 relative) runs here, in the build's own
DuckDB process. One row per proportion cell of int_survey__ratio_estimates (registry w_proportion), on the
ratio scale:

- n_effective = p(1 − p) / v (= n / deff, deff = v / (p(1 − p) / n)), capped at n, the respondents in the
  denominator; n itself when p is 0 or 1 or v is 0, where the design effect is undefined;
- n_adjusted = n_effective · (t(0.975, n − 1) / t(0.975, df))², df the cell's own design df;
- the Clopper–Pearson interval on n_adjusted "successes" p · n_adjusted:
  lower = B⁻¹(0.025; p·n*, (1 − p)·n* + 1) (0 when p = 0), upper = B⁻¹(0.975; p·n* + 1, (1 − p)·n*) (1 when p = 1).

No interval (nulls) when df < 1 or n < 2: t is undefined there.
"""

import numpy as np
import pandas as pd
from scipy.stats import beta, t

KEYS = ["period", "scope", "indicator_code", "statistic", "breakdown", "member"]
OUTPUT = ["n_effective", "n_adjusted", "kg_lower", "kg_upper"]
LEVEL = 0.95


def korn_graubard(frame: pd.DataFrame) -> pd.DataFrame:
    """The interval of every row of `frame` (columns ratio, variance, n_respondents, df)."""
    p = frame["ratio"].to_numpy(dtype=float)
    v = np.clip(frame["variance"].to_numpy(dtype=float), 0.0, None)
    n = frame["n_respondents"].to_numpy(dtype=float)
    df = frame["df"].to_numpy(dtype=float)
    alpha = 1.0 - LEVEL
    defined = (df >= 1) & (n >= 2) & np.isfinite(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (p > 0) & (p < 1) & (v > 0)
        n_effective = np.where(inside, np.minimum(p * (1 - p) / np.where(v > 0, v, 1.0), n), n)
        ratio_t = t.ppf(1 - alpha / 2, np.where(defined, n - 1, 1)) / t.ppf(1 - alpha / 2, np.where(defined, df, 1))
        n_adjusted = np.where(defined, n_effective * ratio_t**2, np.nan)
        successes = p * n_adjusted
        failures = (1 - p) * n_adjusted
        lower = np.where(p <= 0, 0.0, beta.ppf(alpha / 2, np.where(p > 0, successes, 1.0), failures + 1))
        upper = np.where(p >= 1, 1.0, beta.ppf(1 - alpha / 2, successes + 1, np.where(p < 1, failures, 1.0)))
    out = frame[KEYS].copy()
    out["n_effective"] = np.where(defined, n_effective, np.nan)
    out["n_adjusted"] = n_adjusted
    out["kg_lower"] = np.where(defined, lower, np.nan)
    out["kg_upper"] = np.where(defined, upper, np.nan)
    return out


def model(dbt, session):
    dbt.config(materialized="table")
    estimates = dbt.ref("int_survey__ratio_estimates")
    proportions = dbt.ref("indicator_registry").filter("w_proportion").select("indicator_code")
    cells = estimates.join(proportions, "indicator_code").select(
        ", ".join(KEYS + ["ratio", "variance", "n_respondents", "df"])
    )
    if not cells.limit(1).fetchall():
        # no proportion cell: an empty table with the columns typed, as DuckDB cannot type empty pandas columns
        return cells.project(", ".join(KEYS + [f"cast(null as double) as {c}" for c in OUTPUT]))
    return korn_graubard(cells.df())
