"""Complementary suppression of the survey ratio cells withheld for too few respondents.

A confidential survey cell (int_survey__estimates, conf_status C: fewer than min_n respondents) must not come
back by subtraction: a breakdown's weighted totals add up to the national one (seed additive_breakdowns), and
SKL01's levels add up to its denominator (100 %). As for enterprise cells (int_enterprise__suppression, package
wfm.disclosure), the cheapest further cells whose suppression lets the cell's weighted numerator and denominator
move by the protection level (seed publication_rules, protection_pct) get conf_status D. Cells already withheld
for low reliability (value null, conf_status F, obs_status U) cost nothing to use: they stay as they are, since
they publish nothing. What the last publication showed or suppressed counts as for enterprise cells
(wfm.disclosure.publication.previous; the marts are read through the session, being this build's outputs too).
One row per ratio cell with its primary status and the published conf_status.
"""

from wfm.disclosure.control import (
    additive_breakdowns,
    restricted_magnitudes,
    rules_mapping,
    source_links,
    suppress,
)
from wfm.disclosure.publication import previous

KEYS = ["period", "scope", "indicator_code", "statistic", "breakdown", "member"]


def model(dbt, session):
    dbt.config(materialized="table")
    estimates = dbt.ref("int_survey__estimates")
    if not estimates.limit(1).fetchall():
        # no cell: an empty table with the columns typed, as DuckDB cannot type empty pandas columns
        return estimates.project(
            "period, scope, indicator_code, statistic, breakdown, member, member as published_member, "
            "0.0 as num, 0.0 as den, conf_status as primary_status, value is null as withheld, conf_status"
        )
    cells = estimates.project(
        "period, scope, indicator_code, statistic, breakdown, split_part(member, '|', 1) as member, "
        "member as published_member, conf_status as primary_status, value is null as withheld"
    ).df()
    totals = dbt.ref("int_survey__ratio_estimates").project(", ".join(KEYS) + ", y_sum as num, x_sum as den").df()
    cells = cells.merge(totals, on=KEYS, how="left")
    cells[["num", "den"]] = cells[["num", "den"]].fillna(0.0)
    links = source_links(dbt.ref("published_magnitudes").df(), "W")
    rules = rules_mapping(dbt.ref("publication_rules").df())
    additive = additive_breakdowns(dbt.ref("additive_breakdowns").df(), "W")
    restricted = restricted_magnitudes(dbt.ref("restricted_magnitudes").df(), "W")
    frame = cells.assign(primary=cells["primary_status"])
    hidden_before = cells["withheld"] | (cells["primary_status"] == "C")
    exposed, suppressed_before = previous(session, frame, "W")
    hidden = suppress(frame, links, rules, hidden_before, exposed, additive, suppressed_before, restricted)
    cells["conf_status"] = cells["primary_status"]
    cells.loc[hidden & ~cells["withheld"], "conf_status"] = "D"
    return cells
