"""The survey intervals of the warehouse against R's `survey` package, and the publication rules they feed.

Oracle: src/wfm_tools/survey_oracle.R, run with Rscript on the same microdata the warehouse is built
from (R ≥ 4.2, survey ≥ 4.1; the versions of the run are printed by the script and shown in a failure):
`svyciprop(method = "beta")` by `svyby` (Korn–Graubard) with `degf()` of each domain's subset design, `svymean`
with `confint(df = degf())`, `svyquantile(ci = TRUE, interval.type = "mean", qrule = "math")` (Woodruff), and
`svytotal` of the skill premium's linearised score. Values, se, df and intervals must agree to 1e-9 relative
wherever the two methods are the same: the Korn–Graubard bounds where the effective sample size is not capped at n
(R does not cap it) and p̂ is strictly inside (0, 1) with se > 0 (R's n_eff is undefined otherwise); Woodruff's
bounds where p ± t·se stays in [0, 1] (R returns NaN, the warehouse reads the extreme value). CI installs R
(apt-get install r-base-core r-cran-survey): without Rscript the oracle test fails."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_estimation import write_warehouse

from wfm.build import build
from wfm_tools.survey_oracle import microdata, run_oracle

#: every test reads a warehouse built by dbt, and the oracle runs R: the slow lane, with the other dbt tests
pytestmark = pytest.mark.slow
TOL = 1e-9
PROVINCES = ["11", "31", "44", "51", "61", "65"]


def synthesise_survey(seed: int = 23) -> pd.DataFrame:
    """Two waves of a stratified clustered sample large enough for province domains with several PSUs: 12
    strata of 3–6 PSUs (one wave with a single-PSU stratum), 8–20 respondents each, unequal weights, items
    left empty, platform workers as a domain, a rare item (wage arrears) and a skill level nobody has (L7)."""
    rng = np.random.default_rng(seed)
    rows = []
    for wave, singleton in (("2024", None), ("2025Q2", 5)):
        for h in range(12):
            n_psu = 1 if h == singleton else int(rng.integers(3, 7))
            for i in range(n_psu):
                province = PROVINCES[(h + i) % len(PROVINCES)]
                # PSU-level rates, so that design effects exceed 1 as in a real clustered sample
                cluster_training = rng.uniform(0.05, 0.95)
                cluster_protection = rng.uniform(0.2, 0.95)
                cluster_skill = (
                    [0.2, 0.1, 0.2, 0.2, 0.15, 0.1, 0.04, 0.01]
                    if rng.random() < 0.5
                    else [0.1, 0.05, 0.1, 0.15, 0.3, 0.2, 0.09, 0.01]
                )
                for k in range(int(rng.integers(8, 21))):
                    form = int(rng.choice([1, 2, 3, 4], p=[0.55, 0.1, 0.25, 0.1]))
                    industry = str(rng.choice(["C3411", "3411", "06", "D4411", "47", "I64"]))
                    skill = rng.choice([None, "L0", "L1", "L2", "L3", "L4", "L5", "L6"], p=cluster_skill)
                    rows.append(
                        {
                            "survey_wave": wave,
                            "respondent_id": f"{wave}-{h}-{i}-{k}",
                            "stratum": f"H{h:02d}",
                            "psu": f"P{i}",
                            "design_weight": float(rng.uniform(20, 400)),
                            "region_code": province + "0105",
                            "industry_code": industry,
                            "sex": int(rng.integers(1, 3)),
                            "age": int(rng.integers(16, 70)),
                            "hukou_type": int(rng.integers(1, 4)),
                            "skill_level": skill,
                            "employment_form": form,
                            "contract_type": int(rng.choice([1, 2, 3, 9])),
                            "monthly_wage": (
                                float(np.round(rng.lognormal(8.4 + 0.1 * int((skill or "L0")[1]), 0.4), 0))
                                if rng.random() > 0.08
                                else None
                            ),
                            "weekly_hours": float(np.round(rng.uniform(20, 80), 1)) if rng.random() > 0.1 else None,
                            "overtime_hours_month": float(rng.uniform(0, 90)),
                            "trained_12m": bool(rng.random() < cluster_training) if rng.random() > 0.12 else None,
                            "training_hours_12m": float(rng.uniform(0, 60)),
                            "union_member": bool(rng.random() < 0.35),
                            "wage_arrears_12m": bool(rng.random() < 0.01),
                            "occupational_injury_protection": bool(rng.random() < cluster_protection)
                            if form == 3
                            else None,
                            "sense_achievement": int(rng.integers(1, 6)),
                            "sense_gain": int(rng.integers(1, 6)),
                            "sense_happiness": int(rng.integers(1, 6)),
                        }
                    )
    frame = pd.DataFrame(rows)
    frame["batch_id"] = "test-batch"
    frame["row_number"] = np.arange(1, len(frame) + 1)
    frame["loaded_at"] = dt.datetime(2026, 1, 1)
    return frame


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    survey = synthesise_survey()
    path = tmp_path_factory.mktemp("intervals") / "warehouse.duckdb"
    write_warehouse(path, survey)
    build(path)
    return survey, path


def query(path: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def published(warehouse: tuple[pd.DataFrame, Path]) -> pd.DataFrame:
    return query(warehouse[1], "select * from marts.indicator_values where source = 'W' and scope = 'industrial'")


@pytest.fixture(scope="module")
def computed(warehouse: tuple[pd.DataFrame, Path]) -> pd.DataFrame:
    """Every survey cell's numbers before publication (withheld cells included), keyed like R's output."""
    return query(
        warehouse[1],
        """
        select indicator_code as code, period as wave, breakdown, member, statistic, ratio as estimate,
            sqrt(greatest(variance, 0)) as se, df, n_respondents as n, variance,
            kg_lower as lower, kg_upper as upper, n_effective
        from intermediate.int_survey__ratio_estimates
        left join intermediate.int_survey__proportion_intervals
            using (period, scope, indicator_code, statistic, breakdown, member)
        where scope = 'industrial'
        union all by name
        select indicator_code as code, period as wave, breakdown, member, statistic, quantile as estimate, se, df,
            n_respondents as n, interval_lower as lower, interval_upper as upper, p, t_crit, se_proportion
        from intermediate.int_survey__quantile_intervals
        where scope = 'industrial'
        union all by name
        select indicator_code as code, period as wave, breakdown, member, '' as statistic,
            100 * (ratio - 1) as estimate, 100 * se_ratio as se, df, n_level as n,
            100 * (ratio - 1 - t_crit * se_ratio) as lower, 100 * (ratio - 1 + t_crit * se_ratio) as upper
        from intermediate.int_survey__premium_intervals
        where scope = 'industrial'
        """,
    )


@pytest.fixture(scope="module")
def oracle(warehouse: tuple[pd.DataFrame, Path], tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("oracle")
    microdata(warehouse[0]).to_csv(folder / "microdata.csv", index=False, na_rep="NA")
    try:
        frame, versions = run_oracle(folder / "microdata.csv", folder / "estimates.csv")
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    frame.attrs["versions"] = versions
    return frame


def joined(oracle: pd.DataFrame, computed: pd.DataFrame, code: str) -> pd.DataFrame:
    keys = ["code", "wave", "breakdown", "member", "statistic"]
    theirs = oracle[oracle.code == code]
    both = theirs.merge(computed, on=keys, how="left", suffixes=("_r", ""), indicator=True)
    missing = both[both["_merge"] != "both"]
    assert missing.empty, f"cells R estimates and the warehouse does not: {missing[keys].to_dict('records')}"
    return both


def close(got: pd.Series, want: pd.Series) -> pd.Series:
    return np.isclose(got.astype(float), want.astype(float), rtol=TOL, atol=1e-12) | (got.isna() & want.isna())


def mismatches(both: pd.DataFrame, column: str) -> list[dict]:
    """The cells where the warehouse and R differ in `column`, with the maximum relative difference."""
    bad = both[~close(both[column], both[column + "_r"])]
    keep = ["wave", "breakdown", "member", "statistic", column, column + "_r"]
    return [{"max_relative": relative(both[column], both[column + "_r"])}, *bad[keep].head(5).to_dict("records")]


def relative(got: pd.Series, want: pd.Series) -> float:
    got, want = got.astype(float).to_numpy(), want.astype(float).to_numpy()
    scale = np.maximum(np.abs(want), 1e-300)
    return float(np.nanmax(np.abs(got - want) / scale)) if len(got) else 0.0


def test_korn_graubard_and_domain_df_equal_svyciprop_beta(oracle, computed):
    versions = oracle.attrs["versions"]
    compared = 0
    for code in ("TRN01", "SKL02", "NEF02"):
        both = joined(oracle, computed, code)
        for column in ("estimate", "se"):
            assert close(both[column], both[column + "_r"]).all(), (versions, code, column, mismatches(both, column))
        assert (both["df"] == both["df_r"]).all(), (versions, code)
        assert (both["n"] == both["n_r"]).all(), (versions, code)
        same_method = (both.estimate > 0) & (both.estimate < 1) & (both.variance > 0) & (both.df >= 1)
        same_method &= both.estimate * (1 - both.estimate) / both.variance <= both.n  # R does not cap n_eff at n
        same = both[same_method]
        for column in ("lower", "upper"):
            assert close(same[column], same[column + "_r"]).all(), (versions, code, column, mismatches(same, column))
        compared += len(same)
    assert compared >= 10


def test_mean_t_interval_on_domain_df_equals_svymean_confint(oracle, computed, published):
    both = joined(oracle, computed, "HRS01")
    versions = oracle.attrs["versions"]
    for column in ("estimate", "se"):
        assert close(both[column], both[column + "_r"]).all(), (versions, column, mismatches(both, column))
    assert (both["df"] == both["df_r"]).all(), versions
    shown = both.merge(
        published.rename(columns={"indicator_code": "code", "period": "wave"}),
        on=["code", "wave", "breakdown", "member"],
    )
    shown = shown[shown.value.notna()]
    assert len(shown) >= 5
    assert close(shown.ci_lower, shown.lower_r).all(), versions
    assert close(shown.ci_upper, shown.upper_r).all(), versions


def smallest_value_share(survey: pd.DataFrame) -> pd.DataFrame:
    """Per wage domain (wave, breakdown, member), F at the smallest wage: the weight share of the smallest value."""
    data = microdata(survey).dropna(subset=["wage"])
    parts = []
    for breakdown, column in (("national", None), ("province", "province"), ("skill_level", "skill")):
        frame = data.assign(member=data[column] if column else "CN", breakdown=breakdown)
        lowest = frame.groupby(["wave", "member"])["wage"].transform("min")
        share = (
            frame.assign(low=frame.w.where(frame.wage == lowest, 0.0))
            .groupby(["wave", "breakdown", "member"])[["low", "w"]]
            .sum()
        )
        parts.append((share.low / share.w).rename("f_min").reset_index())
    return pd.concat(parts)


def test_woodruff_interval_on_domain_df_equals_svyquantile(oracle, computed, warehouse):
    """Quantiles equal svyquantile(qrule = "math"); Woodruff's interval equals R's svymean() se of F̂(q_p),
    degf() and qrule_math() read at p ∓ t·se, the warehouse's method (statistics.md). svyquantile's own
    interval (interval.type = "mean") centres on F̂(q_p) instead of p, which differs when q_p is a tied or
    rounded value; it is not compared. Where the method is the same besides: R's qrule "math" (survey
    4.1.1, qs()) returns the second smallest value for a probability below F(smallest value) (its last()
    gives 1 when no cumulative weight is ≤ p·Σw), where inf{t : F(t) ≥ p} is the smallest; and R returns NaN
    for an end of p ± t·se outside [0, 1]."""
    both = joined(oracle, computed, "WAG01")
    both = both.merge(smallest_value_share(warehouse[0]), on=["wave", "breakdown", "member"], how="left")
    versions = oracle.attrs["versions"]
    point = both[both.p >= both.f_min]
    assert len(point) >= len(both) - 5
    assert close(point.estimate, point.estimate_r).all(), (versions, mismatches(point, "estimate"))
    assert (both["df"] == both["df_r"]).all(), versions
    # R's columns for the warehouse's method: se_f, lower_p, upper_p, under the names compared
    both = both.assign(se_f_r=both.se_f, lower_r=both.lower_p, upper_r=both.upper_p, se_f=both.se_proportion)
    same_quantile = both[both.p >= both.f_min]
    assert close(same_quantile.se_f, same_quantile.se_f_r).all(), (versions, mismatches(same_quantile, "se_f"))
    inside = (both.df >= 1) & (both.p - both.t_crit * both.se_proportion >= both.f_min)
    inside &= both.p + both.t_crit * both.se_proportion <= 1
    compared = both[inside]
    assert len(compared) >= 50
    for column in ("lower", "upper"):
        assert close(compared[column], compared[column + "_r"]).all(), (versions, column, mismatches(compared, column))
    se_r = (compared.upper_r - compared.lower_r) / (2 * compared.t_crit)
    assert close(compared.se, se_r).all(), versions


def test_skill_premium_se_equals_the_linearised_ratio_of_medians(oracle, computed, published):
    """WAG02 = P50(level) / P50(L1) − 1: value, se (each median's influence with Woodruff's slope, the
    premium's score totalled by svytotal()), df and interval equal R's, and every published cell has them."""
    both = joined(oracle, computed, "WAG02")
    versions = oracle.attrs["versions"]
    assert len(both) >= 8
    for column in ("estimate", "se", "lower", "upper"):
        assert close(both[column], both[column + "_r"]).all(), (versions, column, mismatches(both, column))
    assert (both["df"] == both["df_r"]).all(), versions
    assert (both["n"] == both["n_r"]).all(), versions
    shown = published[(published.indicator_code == "WAG02") & published.value.notna()]
    assert len(shown) >= 4
    assert shown[["se", "ci_lower", "ci_upper", "cv", "df"]].notna().all().all()


def test_no_published_interval_has_zero_width(published):
    shown = published[published.value.notna()]
    assert shown.se.notna().all()
    with_interval = shown[shown.ci_lower.notna()]
    assert (with_interval.ci_upper > with_interval.ci_lower).all()
    assert (
        (with_interval.ci_lower <= with_interval.value + 1e-9) & (with_interval.value <= with_interval.ci_upper + 1e-9)
    ).all()


def test_withheld_cells_are_unreliable_not_confidential(published):
    rules = {"min_n": 10, "min_df": 3, "cv_suppress": 0.333}
    withheld = published[published.value.isna() & (published.conf_status == "F")]
    assert len(withheld) > 0
    assert (withheld.obs_status == "U").all()
    assert withheld.quality_note.str.contains("withheld").all()
    assert withheld[["numerator", "denominator", "se", "ci_lower", "ci_upper", "cv"]].isna().all().all()
    confidential = published[published.conf_status == "C"]
    assert (confidential.n_unweighted < rules["min_n"]).all()
    shown = published[published.value.notna()]
    assert (shown.df >= rules["min_df"]).all()
    assert (shown.cv.fillna(0) <= rules["cv_suppress"]).all()
    # se = 0 is never published as reliable: only a proportion at 0 or 100 % keeps it, with status U
    zero = shown[shown.se == 0]
    assert (zero.obs_status.isin(["U", "P"])).all()
    assert zero.value.isin([0.0, 100.0]).all()


def test_every_member_of_a_code_list_has_a_row_in_every_wave(published):
    for wave in ("2024", "2025Q2"):
        rows = published[
            (published.period == wave) & (published.indicator_code == "SKL01") & (published.breakdown == "skill_level")
        ]
        members = {m.split("|")[0] for m in rows.member}
        assert {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7", "NONE"} <= members
        nobody = published[
            (published.period == wave) & (published.indicator_code == "WAG01") & (published.member == "L7|P50")
        ].iloc[0]
        assert nobody.n_unweighted == 0
        assert nobody.conf_status == "C"
        assert pd.isna(nobody.value)
        provinces = published[
            (published.period == wave) & (published.indicator_code == "TRN01") & (published.breakdown == "province")
        ]
        assert len(provinces) == 31  # every mainland province, six of them in the sample
        assert (provinces[provinces.n_unweighted == 0].conf_status == "C").all()
