"""Secondary suppression of the enterprise cells over the whole linked system of published magnitudes.

A Python model because the suppression is a linear program per protection requirement (HiGHS through
scipy.optimize.linprog), in package wfm.disclosure (docs/disclosure-control.md): for every primary confidential
cell (int_enterprise__disclosure, conf_status C), the cheapest set of further cells whose suppression lets its
sensitive figures move by their protection levels (seed publication_rules: protection_pct, and the dominance
rule's upper protection) while every published figure, every relation of the seeds published_magnitudes and
additive_breakdowns and every magnitude's non-negativity hold. Those cells get conf_status D. Each period and
scope is one system, and no relation links two periods: the table is incremental by period like the cells it
reads (macro incremental_by_period), and an incremental build of wfm.build solves the systems of the periods it
lists in audit.build_periods only, leaving the others' rows as the build that solved them left them.

A cell the last publication showed (the marts as the previous build left them, indicator_revisions included)
with the figures it still has cannot be hidden again: the suppression works around it, and reuses first the
cells the last publication suppressed, so that the pattern changes only when the data do
(wfm.disclosure.publication.previous). The model reads those marts through the session, not ref(), since they
are this build's outputs too.
"""

from wfm.disclosure.control import (
    additive_breakdowns,
    restricted_magnitudes,
    rules_mapping,
    source_links,
    suppress,
)
from wfm.disclosure.publication import previous


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert", unique_key="period")
    dbt.config(on_schema_change="fail")
    relation = dbt.ref("int_enterprise__disclosure")
    if dbt.is_incremental and str(dbt.config.get("wfm_incremental")).lower() == "true":
        # the periods wfm.build recomputes (period_filter of the SQL models), joined: they come from deliveries
        built = dbt.source("audit", "build_periods").filter("source = 'enterprise'").project("period").distinct()
        relation = relation.join(built, "period")
    if not relation.limit(1).fetchall():
        # no cell: an empty table with the columns typed, as DuckDB cannot type empty pandas columns
        return relation.project("* exclude (conf_status), conf_status as primary_status, conf_status")
    cells = relation.df()
    links = source_links(dbt.ref("published_magnitudes").df(), "E")
    rules = rules_mapping(dbt.ref("publication_rules").df())
    additive = additive_breakdowns(dbt.ref("additive_breakdowns").df(), "E")
    restricted = restricted_magnitudes(dbt.ref("restricted_magnitudes").df(), "E")
    cells = cells.rename(columns={"conf_status": "primary_status"})
    frame = cells.assign(num=cells["num_sum"], den=cells["den_sum"], primary=cells["primary_status"])
    with_statistic = frame["member"] + "|" + frame["statistic"]
    frame["published_member"] = frame["member"].where(frame["statistic"] == "", with_statistic)
    exposed, suppressed_before = previous(session, frame, "E")
    hidden = suppress(frame, links, rules, frame["primary"] == "C", exposed, additive, suppressed_before, restricted)
    cells["conf_status"] = "F"
    cells.loc[hidden, "conf_status"] = "D"
    cells.loc[cells["primary_status"] == "C", "conf_status"] = "C"
    return cells
