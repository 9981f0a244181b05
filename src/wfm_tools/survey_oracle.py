"""R's `survey` package on the warehouse's survey microdata: the independent oracle of the survey intervals
(tests/indicators/test_intervals.py) and the reference `make bench` sets the warehouse's estimation against.

`microdata` writes each indicator's variable out from the registry's definitions, in the columns
`survey_oracle.R` reads; `run_oracle` runs the script and returns R's cells with the R and survey versions.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

SCRIPT = Path(__file__).with_name("survey_oracle.R")
INSTALL = "apt-get install -y r-base-core r-cran-survey"


def in_scope(frame: pd.DataFrame) -> np.ndarray:
    """Scope `industrial`: sections B–E (divisions 06–50) or platform workers."""
    division = frame["industry_code"].str.replace(r"^[A-Z]", "", regex=True).str[:2]
    section_ok = pd.to_numeric(division, errors="coerce").between(6, 50).fillna(False).to_numpy()
    return section_ok | (frame["employment_form"] == 3).to_numpy()


def microdata(survey: pd.DataFrame) -> pd.DataFrame:
    """The oracle's input from raw survey rows: every respondent, each indicator's variable written out from the
    registry's definitions, NA outside its domain (scope `industrial`; platform workers for NEF02) or when
    missing."""
    scope = in_scope(survey)
    level = survey["skill_level"].fillna("NONE")

    def within(mask: np.ndarray, values: pd.Series) -> pd.Series:
        return values.where(mask)

    return pd.DataFrame(
        {
            "wave": survey["survey_wave"],
            "stratum": survey["stratum"],
            "psu": survey["psu"],
            "w": survey["design_weight"],
            "province": survey["region_code"].str[:2],
            "sex": survey["sex"].astype(str),
            "skill": level,
            "trn01": within(scope, survey["trained_12m"].astype(float)),
            "skl02_y": within(scope, level.isin(["L3", "L4", "L5", "L6", "L7"]).astype(float)),
            "skl02_x": within(scope, level.isin(["L1", "L2", "L3", "L4", "L5", "L6", "L7"]).astype(float)),
            "nef02": within(
                scope & (survey["employment_form"] == 3).to_numpy(),
                survey["occupational_injury_protection"].astype(float),
            ),
            "hrs01": within(scope, survey["weekly_hours"]),
            "wage": within(scope, survey["monthly_wage"]),
        }
    )


def run_oracle(microdata_csv: Path, estimates_csv: Path) -> tuple[pd.DataFrame, str]:
    """R's cells for the microdata in `microdata_csv` (written by `microdata`, NA for missing), and the R and
    survey versions that computed them. Fails with the command that installs R when Rscript is missing."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise RuntimeError(f"Rscript not found: the survey oracle needs R and its survey package ({INSTALL})")
    run = subprocess.run(
        [rscript, str(SCRIPT), str(microdata_csv), str(estimates_csv)], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed:\n{run.stderr}")
    frame = pd.read_csv(estimates_csv, dtype={"member": str, "wave": str, "statistic": str})
    frame["statistic"] = frame["statistic"].fillna("")
    return frame, run.stdout.strip()
