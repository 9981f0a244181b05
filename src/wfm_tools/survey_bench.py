"""The warehouse's survey estimation against R's `survey` package computing the same cells on the same
microdata: one section of `make bench`, measured on the national home the bench's nightly job built.

The warehouse side is the time dbt spent in the survey models (`models/intermediate/survey/`: every published
survey cell's value, se, df and interval) during the nightly job, summed over the models (they run two at a time,
so the sum is at least the wall time they cost). The R side is `survey_oracle.R` in a process of its own on the
same respondents (read from the warehouse's raw survey table, written out as CSV beforehand): svyciprop, svymean,
svyquantile and svytotal per domain, on a subset of the indicators and breakdowns the warehouse publishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from wfm.config import WAREHOUSE_FILE
from wfm_tools.survey_oracle import SCRIPT, microdata


@dataclass
class SurveyComparison:
    warehouse_seconds: float
    warehouse_models: int
    warehouse_cells: int
    r_seconds: float
    r_cells: int
    r_indicators: str
    respondents: int

    @property
    def ratio(self) -> float:
        return self.r_seconds / self.warehouse_seconds


def survey_model_seconds(run_results: Path) -> tuple[float, int]:
    """Seconds dbt spent in the survey models of one run, and how many there were."""
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    times = [r["execution_time"] for r in results if r["unique_id"].startswith("model.") and _survey(r)]
    return sum(times), len(times)


def _survey(result: dict) -> bool:
    # run_results has no file path; the model's name says its folder (int_survey__*); the survey cells'
    # complementary suppression is disclosure control, not estimation
    name = result["unique_id"].split(".")[-1]
    return name.startswith("int_survey__") and name != "int_survey__suppression"


def write_microdata(home: Path, out: Path) -> tuple[int, int]:
    """The oracle's CSV from the home's raw survey rows; returns (respondents, published survey cells)."""
    con = duckdb.connect(str(home / WAREHOUSE_FILE), read_only=True)
    try:
        survey = con.execute("select * from raw.survey_responses").df()
        cells = con.execute(
            "select count(*) from marts.indicator_values where source = 'W' and value is not null"
        ).fetchone()[0]
    finally:
        con.close()
    microdata(survey).to_csv(out, index=False, na_rep="NA")
    return len(survey), int(cells)


def render(c: SurveyComparison) -> str:
    return f"""
## Survey estimation against R's survey package

The same {c.respondents:,} respondents. The warehouse: its {c.warehouse_models} dbt models of the survey cells
(value, se, df, interval; {c.warehouse_cells:,} published values), their times in the nightly job summed (median
over the rounds). R: `Rscript {SCRIPT.name}` (`svyby` with `svyciprop(method = "beta")`, `svymean`,
`svyquantile` Woodruff, `svytotal`) computing {c.r_cells:,} cells of {c.r_indicators} only, in one process,
reading its CSV included.

| computation | cells | wall |
| --- | --- | --- |
| warehouse, survey models of the nightly job | {c.warehouse_cells:,} | {c.warehouse_seconds:.1f} s |
| R survey, the oracle's subset | {c.r_cells:,} | {c.r_seconds:.1f} s |
| ratio R / warehouse | | {c.ratio:.1f} × |
"""
